//! Editor frame cost on generated 1,000-node / 1,500-edge and 10,000-node / 15,000-edge
//! graphs, and auto-layout time. Run with `cargo bench -p workflow-studio --bench
//! editor_frame`; figures go to docs/performance.md. CPU only: the real app's `frame_ui` runs
//! in an egui context exactly as eframe drives it (layout, then tessellation into triangles),
//! without a window or GPU.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_contracts::generate::publishing_units;
use workflow_contracts::layout::auto_layout;
use workflow_contracts::Registry;
use workflow_studio::app::StudioApp;
use workflow_studio::command::Command;
use workflow_studio::editor::document::WorkflowDocument;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label}: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(times[times.len() - 1])
    );
}

/// What a case does before and during its timed frames.
enum Case {
    /// Zoom to fit: the whole graph in view, which is the overview.
    Overview,
    /// One node selected: the inspector shows it.
    Select,
    /// 1:1 zoom on the middle of the graph.
    OneToOne,
    /// 1:1 zoom, the view moving 100 points a frame (as Shift+wheel pans): the editor re-culls
    /// whenever the view leaves the region it holds.
    Pan,
}

fn bench(registry: &Arc<Registry>, units: usize) {
    let mut graph = publishing_units(units, registry);
    let size = graph.nodes.len();
    println!(
        "graph: {size} nodes, {} edges (publishing_units({units}))",
        graph.edges.len()
    );

    let runs = if size > 5_000 { 5 } else { 20 };
    let layouts: Vec<Duration> = (0..runs)
        .map(|_| {
            let mut g = graph.clone();
            let t = Instant::now();
            auto_layout(&mut g, None::<&HashSet<String>>);
            t.elapsed()
        })
        .collect();
    report(&format!("[{size}] auto-layout"), layouts);
    auto_layout(&mut graph, None);

    let ctx = egui::Context::default();
    let mut app = StudioApp::new(Arc::clone(registry));
    app.open(WorkflowDocument::new("bench", graph));
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0));
    let mut time = 0.0;
    let mut frame = |app: &mut StudioApp, pointer: egui::Pos2| {
        time += 1.0 / 60.0;
        let input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(time),
            events: vec![egui::Event::PointerMoved(pointer)],
            ..Default::default()
        };
        let t = Instant::now();
        let mut output = ctx.run_ui(input, |ui| app.frame_ui(ui));
        let _triangles = ctx.tessellate(output.shapes, output.pixels_per_point);
        let elapsed = t.elapsed();
        // No GPU takes the font atlas updates (debug builds insist they are handled).
        output.textures_delta.clear();
        elapsed
    };
    let cases = [
        (
            "whole graph in view (zoom to fit: overview)",
            Case::Overview,
        ),
        ("one node selected, inspector open", Case::Select),
        (
            "editing at 1:1 zoom in the middle of the graph",
            Case::OneToOne,
        ),
        ("panning at 1:1 across the graph (re-culling)", Case::Pan),
    ];
    let middle = |app: &StudioApp| {
        let editor = app.editor.as_ref().expect("open");
        let [x, y] = editor.doc.graph.nodes[size / 2]
            .position
            .unwrap_or([0.0, 0.0]);
        egui::emath::TSTransform::new(egui::vec2(800.0 - x, 500.0 - y), 1.0)
    };
    for (label, case) in cases {
        match case {
            Case::Overview => {}
            Case::Select => app.send(Command::Select(vec!["still_0".into()])),
            Case::OneToOne | Case::Pan => {
                let view = middle(&app);
                app.editor.as_mut().expect("open").canvas.set_view(view);
            }
        }
        for i in 0..10 {
            frame(&mut app, egui::pos2(400.0 + i as f32, 500.0));
        }
        let frames: Vec<Duration> = (0..120)
            .map(|i| {
                if let Case::Pan = case {
                    let canvas = &mut app.editor.as_mut().expect("open").canvas;
                    let mut view = canvas.transform();
                    // Down the graph's long axis and back, so the whole frame range is met.
                    let step = if i < 60 { -100.0 } else { 100.0 };
                    view.translation.y += step;
                    canvas.set_view(view);
                }
                frame(&mut app, egui::pos2(400.0 + (i % 40) as f32 * 10.0, 500.0))
            })
            .collect();
        report(&format!("[{size}] frame ({label})"), frames);
    }

    // Auto-layout as the author meets it: the frame that applies the command (undo record
    // included) and the one after it (re-validation, zoom to fit, the overview rebuilt).
    let commands: Vec<Duration> = (0..runs)
        .map(|i| {
            app.send(Command::Select(Vec::new()));
            frame(&mut app, egui::pos2(400.0, 500.0));
            // Commands apply at the end of a frame: the one that applies it and the next.
            app.send(Command::AutoLayout);
            frame(&mut app, egui::pos2(400.0 + i as f32, 500.0))
                + frame(&mut app, egui::pos2(401.0 + i as f32, 500.0))
        })
        .collect();
    report(
        &format!("[{size}] auto-layout command: the frame applying it + the next"),
        commands,
    );
}

fn main() {
    let registry = Arc::new(Registry::builtin());
    for units in [100, 1_000] {
        bench(&registry, units);
    }
}
