//! Validation and normalize over generated graphs: the figures in docs/performance.md.
//! Run with `cargo bench -p workflow-contracts --bench validate`.
//!
//! Criterion's means suffer on a shared, loaded machine (a descheduled iteration counts in
//! full), so the bench also prints the best and the median of 200 single runs per case: the
//! best is the cost of the code itself, the median what a user sees on that machine.

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use serde_json::json;
use std::time::{Duration, Instant};
use workflow_contracts::generate::replicated_starter;
use workflow_contracts::{normalize, validate, Edge, Graph, Registry};

/// The valid graph with a bad parameter on every tenth node, a wrong port on every tenth edge
/// and one edge between unknown ports: the error path must stay linear too.
fn broken(valid: &Graph) -> Graph {
    let mut broken = valid.clone();
    for node in broken.nodes.iter_mut().step_by(10) {
        node.params.insert("width".into(), json!(0));
    }
    for edge in broken.edges.iter_mut().step_by(10) {
        edge.to.port = "nope".into();
    }
    let first = broken.nodes[0].id.clone();
    let last = broken.nodes[broken.nodes.len() - 1].id.clone();
    broken.edges.push(Edge::new(&last, "x", &first, "y"));
    broken
}

fn bench_validate(c: &mut Criterion) {
    let registry = Registry::builtin();
    let mut group = c.benchmark_group("validate");
    for size in [1_000usize, 10_000] {
        let valid = replicated_starter(size, &registry);
        group.throughput(Throughput::Elements(valid.nodes.len() as u64));
        group.bench_with_input(BenchmarkId::new("valid", size), &valid, |b, g| {
            b.iter(|| {
                let report = validate(black_box(g), &registry);
                assert!(report.valid);
            })
        });
        let broken = broken(&valid);
        group.bench_with_input(BenchmarkId::new("broken", size), &broken, |b, g| {
            b.iter(|| {
                let report = validate(black_box(g), &registry);
                assert!(!report.valid);
            })
        });
        group.bench_with_input(BenchmarkId::new("normalize", size), &valid, |b, g| {
            b.iter(|| normalize(black_box(g), &registry))
        });
    }
    group.finish();
}

/// Best and median of `runs` single timed runs of `f`, in milliseconds.
fn best_and_median(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[0]), ms(times[runs / 2]))
}

fn print_best_of() {
    let registry = Registry::builtin();
    println!("best / median of 200 runs:");
    for size in [1_000usize, 10_000] {
        let valid = replicated_starter(size, &registry);
        let broken = broken(&valid);
        let cases: [(&str, &Graph, bool); 3] = [
            ("valid", &valid, false),
            ("broken", &broken, false),
            ("normalize", &valid, true),
        ];
        for (name, graph, is_normalize) in cases {
            let (best, median) = best_and_median(200, || {
                if is_normalize {
                    black_box(normalize(black_box(graph), &registry));
                } else {
                    black_box(validate(black_box(graph), &registry));
                }
            });
            println!(
                "validate/{name}/{size} ({} nodes): best {best:.3} ms, median {median:.3} ms",
                graph.nodes.len()
            );
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_validate(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs benches once as tests: only the criterion pass then.
    if !std::env::args().any(|a| a == "--test") {
        print_best_of();
    }
}
