//! Editor frame cost on a generated 1,000-node / 1,500-edge graph, and auto-layout time.
//! Run with `cargo bench -p workflow-studio --bench editor_frame`; figures go to
//! docs/performance.md. CPU only: the real app's `frame_ui` runs in an egui context exactly as
//! eframe drives it (layout, then tessellation into triangles), without a window or GPU.

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

fn main() {
    let registry = Arc::new(Registry::builtin());
    let mut graph = publishing_units(100, &registry);
    println!(
        "graph: {} nodes, {} edges",
        graph.nodes.len(),
        graph.edges.len()
    );

    let mut layouts = Vec::new();
    for _ in 0..20 {
        let mut g = graph.clone();
        let t = Instant::now();
        auto_layout(&mut g, None::<&HashSet<String>>);
        layouts.push(t.elapsed());
    }
    layouts.sort();
    println!(
        "auto-layout: p50 {:.2} ms, p95 {:.2} ms",
        ms(percentile(&layouts, 0.5)),
        ms(percentile(&layouts, 0.95))
    );
    auto_layout(&mut graph, None);

    let ctx = egui::Context::default();
    let mut app = StudioApp::new(registry);
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
        let output = ctx.run_ui(input, |ui| app.frame_ui(ui));
        let _triangles = ctx.tessellate(output.shapes, output.pixels_per_point);
        t.elapsed()
    };
    let cases: [(&str, Option<Command>, bool); 3] = [
        ("whole graph in view (zoom to fit: overview)", None, false),
        (
            "one node selected, inspector open",
            Some(Command::Select(vec!["still_0".into()])),
            false,
        ),
        ("editing at 1:1 zoom in the middle of the graph", None, true),
    ];
    for (label, command, one_to_one) in cases {
        if let Some(command) = command {
            app.send(command);
        }
        if one_to_one {
            let editor = app.editor.as_mut().expect("open");
            let middle = editor.doc.graph.nodes[500].position.unwrap_or([0.0, 0.0]);
            editor.canvas.set_view(egui::emath::TSTransform::new(
                egui::vec2(800.0 - middle[0], 500.0 - middle[1]),
                1.0,
            ));
        }
        for i in 0..10 {
            frame(&mut app, egui::pos2(400.0 + i as f32, 500.0));
        }
        let mut frames: Vec<Duration> = (0..120)
            .map(|i| frame(&mut app, egui::pos2(400.0 + (i % 40) as f32 * 10.0, 500.0)))
            .collect();
        frames.sort();
        println!(
            "frame ({label}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            ms(percentile(&frames, 0.5)),
            ms(percentile(&frames, 0.95)),
            ms(frames[frames.len() - 1])
        );
    }
}
