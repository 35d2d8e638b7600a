mod common;

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
