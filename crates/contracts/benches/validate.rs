//! Validation and normalize over generated graphs: the figures in docs/performance.md.
//! Run with `cargo bench -p workflow-contracts --bench validate`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::json;
use workflow_contracts::generate::replicated_starter;
use workflow_contracts::{normalize, validate, Edge, Registry};

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
        // Every tenth node gets a bad parameter and every tenth edge points at a wrong port:
        // the error path must stay linear too.
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

criterion_group!(benches, bench_validate);
criterion_main!(benches);
