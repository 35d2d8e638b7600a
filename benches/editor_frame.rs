//! Editor frame cost on a generated 1,000-node / 1,500-edge graph, and auto-layout time.
//! Run with `cargo bench -p workflow-studio --bench editor_frame`; figures go to
//! docs/performance.md. CPU only: egui_kittest drives the real app without a GPU.

use egui_kittest::Harness;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_contracts::generate::publishing_units;
use workflow_contracts::layout::auto_layout;
use workflow_contracts::Registry;
use workflow_studio::app::StudioApp;
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

    let app_registry = Arc::clone(&registry);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .with_max_steps(64)
        .build_eframe(move |_cc| {
            let mut app = StudioApp::new(app_registry);
            app.open(WorkflowDocument::new("bench", graph));
            app
        });
    harness.run_ok();
    for (label, select) in [
        ("whole graph in view, nothing selected", None),
        ("one node selected (inspector open)", Some("render_still")),
    ] {
        if let Some(id) = select {
            if let Some(editor) = harness.state_mut().editor.as_mut() {
                editor.selection = vec![format!("{id}_0").replace("render_still", "still")];
            }
        }
        let mut frames = Vec::new();
        for i in 0..120 {
            // Move the pointer so hover state changes every frame, as when an author works.
            harness.hover_at(egui::pos2(400.0 + (i % 40) as f32 * 10.0, 500.0));
            let t = Instant::now();
            harness.step();
            frames.push(t.elapsed());
        }
        frames.sort();
        println!(
            "frame ({label}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            ms(percentile(&frames, 0.5)),
            ms(percentile(&frames, 0.95)),
            ms(frames[frames.len() - 1])
        );
    }
}
