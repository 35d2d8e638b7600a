use crate::common;

use workflow_engine::materials::{
    default_library, glob_match, parse_hex_color, MaterialMap, MaterialSource, MissingPolicy,
    NameRule, ResolveOptions,
};
use workflow_engine::{extract_manifest, resolve_materials, Manifest, ManifestParams};

fn truck() -> Manifest {
    extract_manifest(
        &common::load("CesiumMilkTruck.glb"),
        &ManifestParams::default(),
    )
    .expect("manifest")
}

#[test]
fn glob_rules() {
    assert!(glob_match("*bolt*", "as1/nut-bolt-assembly_1/BOLT_1"));
    assert!(glob_match("*/nut_?", "a/b/nut_3"));
    assert!(!glob_match("*/nut_?", "a/b/nut_30"));
    assert!(glob_match("*", ""));
    assert!(!glob_match("bolt", "bolt_1"));
}

#[test]
fn precedence_explicit_then_rules_in_order_then_file() {
    let m = truck();
    let wheel_keys: Vec<String> = m
        .parts
        .iter()
        .filter(|p| p.part_key.to_lowercase().contains("wheel"))
        .map(|p| p.part_key.clone())
        .collect();
    assert_eq!(wheel_keys.len(), 2);
    let mut map = MaterialMap {
        rules: vec![
            NameRule {
                pattern: "*wheel*".into(),
                material: "rubber_black".into(),
            },
            NameRule {
                pattern: "*".into(),
                material: "paint_red".into(),
            },
        ],
        ..Default::default()
    };
    map.assignments
        .insert(wheel_keys[0].clone(), "chrome".into());
    map.assignments.insert("not/a/part".into(), "chrome".into());
    let r = resolve_materials(&m, &default_library(), &map, &ResolveOptions::default())
        .expect("resolves");
    let first = r.get(&wheel_keys[0]).expect("part");
    assert_eq!(first.source, MaterialSource::Explicit);
    assert_eq!(
        first.material.as_ref().map(|m| m.name.as_str()),
        Some("chrome")
    );
    let second = r.get(&wheel_keys[1]).expect("part");
    assert!(matches!(
        second.source,
        MaterialSource::Rule { index: 0, .. }
    ));
    assert!(r
        .parts
        .iter()
        .any(|p| matches!(p.source, MaterialSource::Rule { index: 1, .. })));
    assert_eq!(r.stale_assignments, vec!["not/a/part".to_string()]);
    // Without rules, the file's own materials apply.
    let r = resolve_materials(
        &m,
        &default_library(),
        &MaterialMap::default(),
        &ResolveOptions::default(),
    )
    .expect("file");
    assert!(r.parts.iter().all(|p| p.source == MaterialSource::File));
}

#[test]
fn fail_policy_lists_missing_parts() {
    let m = truck();
    let opts = ResolveOptions {
        use_file_materials: false,
        ..ResolveOptions::default()
    };
    let err = resolve_materials(&m, &default_library(), &MaterialMap::default(), &opts)
        .expect_err("all missing");
    assert_eq!(err.code(), "missing_materials");
    for p in &m.parts {
        assert!(err.to_string().contains(&p.part_key), "{err}");
    }
    let opts = ResolveOptions {
        missing_policy: MissingPolicy::Placeholder,
        use_file_materials: false,
        ..Default::default()
    };
    let r = resolve_materials(&m, &default_library(), &MaterialMap::default(), &opts)
        .expect("placeholder");
    assert_eq!(r.missing.len(), m.parts.len());
    assert!(r
        .parts
        .iter()
        .all(|p| p.source == MaterialSource::Placeholder));
}

#[test]
fn unknown_materials_and_bad_colours_are_errors() {
    let m = truck();
    let map = MaterialMap {
        rules: vec![NameRule {
            pattern: "nothing*".into(),
            material: "unobtainium".into(),
        }],
        ..Default::default()
    };
    let err = resolve_materials(&m, &default_library(), &map, &ResolveOptions::default())
        .expect_err("unknown");
    assert_eq!(err.code(), "unknown_material");
    assert!(err.to_string().contains("unobtainium"));
    let opts = ResolveOptions {
        placeholder_color: "pink".into(),
        ..Default::default()
    };
    assert_eq!(
        resolve_materials(&m, &default_library(), &MaterialMap::default(), &opts)
            .expect_err("bad")
            .code(),
        "invalid_param"
    );
    assert_eq!(parse_hex_color("#ffffff"), Some([1.0, 1.0, 1.0, 1.0]));
}

#[test]
fn default_library_has_the_basics() {
    let lib = default_library();
    for name in [
        "steel_brushed",
        "aluminium",
        "rubber_black",
        "plastic_red",
        "glass_clear",
        "paint_blue",
    ] {
        assert!(lib.get(name).is_some(), "{name}");
    }
    let names: std::collections::HashSet<_> = lib.materials.iter().map(|m| &m.name).collect();
    assert_eq!(names.len(), lib.materials.len());
}

#[test]
fn resolution_serializes_as_a_report() {
    let m = truck();
    let r = resolve_materials(
        &m,
        &default_library(),
        &MaterialMap::default(),
        &ResolveOptions::default(),
    )
    .expect("ok");
    let json = serde_json::to_string(&r).expect("json");
    assert!(json.contains("\"kind\":\"file\""), "{json}");
}

#[test]
fn unknown_materials_are_named_once_in_first_use_order() {
    let mut map = MaterialMap::default();
    map.assignments.insert("a".into(), "paint_red".into());
    map.assignments.insert("b".into(), "unobtainium".into());
    map.rules.push(NameRule {
        pattern: "*".into(),
        material: "unobtainium".into(),
    });
    map.rules.push(NameRule {
        pattern: "*bolt*".into(),
        material: "cheese".into(),
    });
    assert_eq!(
        map.unknown_materials(&default_library()),
        vec!["unobtainium", "cheese"]
    );
    assert!(MaterialMap::default()
        .unknown_materials(&default_library())
        .is_empty());
}
