//! Run-detail frame cost for a run with 500 node runs and 20,000 log lines.
//! Run with `cargo bench -p workflow-studio --bench run_detail_frame`; figures go to
//! docs/performance.md. CPU only: the real app's `frame_ui` in an egui context exactly as
//! eframe drives it (layout, then tessellation), without a window or GPU.

use serde_json::{json, Map};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_contracts::{Edge, Family, Graph, GraphNode, Registry};
use workflow_engine::runtime::{
    LogLevel, LogLine, NodeError, NodeRun, NodeStatus, RunMode, RunStatus,
};
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::command::Command;
use workflow_wire::RunRecord;

const NODES: usize = 500;
const LOG_LINES: usize = 20_000;
/// The failing node carries half of the log lines (a chatty module that finally failed).
const FAILING: usize = 250;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn big_run() -> RunRecord {
    let t0 = 1_700_000_000_000i64;
    let mut graph = Graph::new(Family::OrderLine);
    let mut nodes = Vec::new();
    let per_node = (LOG_LINES / 2) / (NODES - 1);
    let mut lines = 0;
    for i in 0..NODES {
        let id = format!("n{i}");
        graph.nodes.push(GraphNode::new(&id, "render.still"));
        if i > 0 {
            graph
                .edges
                .push(Edge::new(&format!("n{}", i / 2), "image", &id, "image"));
        }
        let count = if i == FAILING {
            LOG_LINES / 2
        } else if i == NODES - 1 {
            LOG_LINES - lines
        } else {
            per_node
        };
        let logs: Vec<LogLine> = (0..count)
            .map(|k| LogLine {
                at: t0 + k as i64,
                level: if k % 50 == 0 {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                },
                message: format!("{id}: step {k} of {count}, tile {} done", k % 64),
            })
            .collect();
        lines += logs.len();
        let start = t0 + (i as i64 % 40) * 25;
        let (status, error) = match i {
            FAILING => (
                NodeStatus::Failed,
                Some(NodeError {
                    code: "missing_materials".into(),
                    message: "3 parts have no material".into(),
                    details: json!({"parts": ["a", "b", "c"]}),
                    root_cause_node: None,
                }),
            ),
            i if i > FAILING && i % 7 == 0 => (
                NodeStatus::Skipped,
                Some(NodeError {
                    code: "upstream_failed".into(),
                    message: format!("n{FAILING} failed"),
                    details: serde_json::Value::Null,
                    root_cause_node: Some(format!("n{FAILING}")),
                }),
            ),
            _ => (NodeStatus::Succeeded, None),
        };
        let mut params = Map::new();
        params.insert("width".into(), json!(1024));
        params.insert("samples".into(), json!(16));
        nodes.push(NodeRun {
            node_id: id,
            node_type: "render.still".into(),
            module_key: "render.image".into(),
            status,
            queued_at: start - 10,
            started_at: Some(start),
            finished_at: Some(start + 20 + (i as i64 % 13) * 7),
            params,
            outputs: BTreeMap::from([("image".to_owned(), json!({"width": 1024}))]),
            output_digests: BTreeMap::new(),
            artifacts: Vec::new(),
            logs,
            error,
        });
    }
    assert_eq!(lines, LOG_LINES);
    RunRecord {
        id: "bench-run-0000".into(),
        mode: RunMode::Graph,
        trigger: "api".into(),
        status: RunStatus::Failed,
        workflow_id: Some("wf".into()),
        workflow_version: Some(1),
        output_type_id: None,
        product_id: Some("p".into()),
        inputs: Map::new(),
        overrides: Map::new(),
        graph: Some(graph),
        output_type: None,
        authoritative: true,
        linked_run_id: None,
        link: None,
        rerun_of: None,
        error: None,
        created_at: t0,
        started_at: Some(t0),
        finished_at: Some(t0 + 2_000),
        nodes,
    }
}

fn main() {
    let ctx = egui::Context::default();
    let mut app = StudioApp::new(Arc::new(Registry::builtin()));
    app.state.view = MainView::Runs;
    app.runs.selected = Some(big_run());
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1600.0, 1000.0));
    let mut time = 0.0;
    let mut frame = |app: &mut StudioApp, events: Vec<egui::Event>| {
        time += 1.0 / 60.0;
        let input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(time),
            events,
            ..Default::default()
        };
        let t = Instant::now();
        let output = ctx.run_ui(input, |ui| app.frame_ui(ui));
        let _triangles = ctx.tessellate(output.shapes, output.pixels_per_point);
        t.elapsed()
    };
    let cases: [(&str, Option<Command>, Option<&str>, bool); 4] = [
        (
            "detail at the top (timeline, failure view, node table)",
            None,
            None,
            false,
        ),
        (
            "node with 10,000 log lines selected",
            Some(Command::SelectRunNode(format!("n{FAILING}"))),
            None,
            false,
        ),
        ("log search over 10,000 lines", None, Some("tile 7 "), false),
        ("scrolling the detail", None, None, true),
    ];
    for (label, command, search, scroll) in cases {
        if let Some(command) = command {
            app.send(command);
        }
        if let Some(text) = search {
            app.runs.log_search = text.to_owned();
            app.runs.node_log_search = text.to_owned();
        }
        for i in 0..10 {
            frame(
                &mut app,
                vec![egui::Event::PointerMoved(egui::pos2(
                    900.0,
                    300.0 + i as f32,
                ))],
            );
        }
        let mut frames: Vec<Duration> = (0..120)
            .map(|i| {
                let pointer = egui::pos2(900.0, 300.0 + (i % 40) as f32 * 10.0);
                let mut events = vec![egui::Event::PointerMoved(pointer)];
                if scroll {
                    events.push(egui::Event::MouseWheel {
                        unit: egui::MouseWheelUnit::Point,
                        delta: egui::vec2(0.0, if i % 60 < 30 { -40.0 } else { 40.0 }),
                        modifiers: egui::Modifiers::NONE,
                        phase: egui::TouchPhase::Move,
                    });
                }
                frame(&mut app, events)
            })
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
