use crate::common;

use workflow_engine::{extract_manifest, import_file, ImportParams, ManifestParams};

fn step(name: &str) -> std::path::PathBuf {
    common::fixtures().join("step").join(name)
}

#[test]
fn all_step_fixtures_import() {
    for name in ["nist_mbe_pmi_1.step", "abc-0000.step", "as1-oc-214.step"] {
        let scene = import_file(&step(name), &ImportParams::default()).expect("STEP imports");
        assert!(scene.drawn_triangle_count() > 100, "{name}");
        assert!(!scene.bounds().is_empty(), "{name}");
    }
}

#[test]
fn assembly_yields_18_placed_instances_with_path_keys() {
    let scene = import_file(&step("as1-oc-214.step"), &ImportParams::default()).expect("imports");
    let m = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
    let keys: Vec<&str> = m.parts.iter().map(|p| p.part_key.as_str()).collect();
    println!("{keys:#?}");
    assert_eq!(m.parts.len(), 18);
    let unique: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), 18);
    assert!(
        keys.iter()
            .any(|k| k.ends_with("l-bracket-assembly_2/nut-bolt-assembly_1/bolt_1")),
        "{keys:?}"
    );
}

#[test]
fn converter_failures_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("garbage.step");
    std::fs::write(&bad, b"this is not ISO-10303-21").expect("write");
    let err = import_file(&bad, &ImportParams::default()).expect_err("garbage fails");
    assert_eq!(err.code(), "step_conversion_failed", "{err}");
    let err = import_file(
        &step("as1-oc-214.step"),
        &ImportParams {
            angular_tolerance: 9.0,
            ..ImportParams::default()
        },
    )
    .expect_err("bad param");
    assert_eq!(err.code(), "invalid_param");
}

#[test]
fn memory_cap_stops_the_converter() {
    let err = import_file(
        &step("nist_mbe_pmi_1.step"),
        &ImportParams {
            memory_limit_mb: 16,
            ..ImportParams::default()
        },
    )
    .expect_err("16 MB is too little for OpenCASCADE");
    assert_eq!(err.code(), "step_conversion_failed", "{err}");
}

#[test]
fn converter_is_killed_at_the_time_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let fake = dir.path().join("slow-converter.sh");
    std::fs::write(&fake, "#!/bin/sh\nsleep 30\n").expect("write");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    let started = std::time::Instant::now();
    let err = workflow_engine::import::step::import_step_with(
        &step("abc-0000.step"),
        "abc-0000.step",
        &ImportParams {
            timeout_s: 1,
            ..ImportParams::default()
        },
        fake.to_str().expect("utf8 path"),
    )
    .expect_err("times out");
    assert_eq!(err.code(), "step_timeout", "{err}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn missing_converter_is_reported() {
    let err = workflow_engine::import::step::import_step_with(
        &step("abc-0000.step"),
        "abc-0000.step",
        &ImportParams::default(),
        "/nonexistent/occt-draw",
    )
    .expect_err("missing");
    assert_eq!(err.code(), "step_converter_missing", "{err}");
}

#[test]
fn merge_vertices_is_lossless() {
    let count = |merge: bool| {
        let s = import_file(
            &step("abc-0000.step"),
            &ImportParams {
                merge_vertices: merge,
                ..ImportParams::default()
            },
        )
        .expect("imports");
        let verts: usize = s
            .meshes
            .iter()
            .flat_map(|m| &m.primitives)
            .map(|p| p.positions.len())
            .sum();
        (verts, s.drawn_triangle_count(), s.bounds())
    };
    let (v_raw, t_raw, b_raw) = count(false);
    let (v, t, b) = count(true);
    assert_eq!(t, t_raw);
    assert_eq!(b, b_raw);
    assert!(v <= v_raw);
}

#[test]
fn up_axis_is_the_source_up() {
    // The two settings differ by a quarter turn about X: Y and Z extents swap.
    let z_up = import_file(
        &step("as1-oc-214.step"),
        &ImportParams {
            up_axis: "z".into(),
            ..ImportParams::default()
        },
    )
    .expect("imports")
    .bounds();
    let y_up = import_file(
        &step("as1-oc-214.step"),
        &ImportParams {
            up_axis: "y".into(),
            ..ImportParams::default()
        },
    )
    .expect("imports")
    .bounds();
    let (zs, ys) = (z_up.size(), y_up.size());
    assert!(
        (zs.y - ys.z).abs() < 1e-4 && (zs.z - ys.y).abs() < 1e-4,
        "{zs:?} vs {ys:?}"
    );
}
