use serde_json::{json, Map, Value};
use workflow_engine::params::*;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

/// Every catalog parameter of every node the engine implements is read by its parser
/// (a new catalog parameter without engine support fails here), and the defaults parse.
#[test]
fn every_catalog_parameter_is_honoured() {
    let empty = Map::new();
    type Check = fn(&ParamReader) -> Result<(), ParamError>;
    let cases: [(&str, Check); 14] = [
        ("cad.source", |r| cad_source_params(r).map(drop)),
        ("cad.publish", |r| cad_publish_params(r).map(drop)),
        ("order.source", |r| order_source_params(r).map(drop)),
        ("output.publish", |r| output_publish_params(r).map(drop)),
        ("cad.import", |r| import_params(r).map(drop)),
        ("cad.extract_metadata", |r| manifest_params(r).map(drop)),
        ("cad.export_glb", |r| export_params(r).map(drop)),
        ("render.thumbnail", |r| image_params(r).map(drop)),
        ("render.still", |r| {
            image_params(r)?;
            render_engine(r).map(drop)
        }),
        ("render.turntable", |r| {
            turntable_node_params(r)?;
            render_engine(r).map(drop)
        }),
        ("material.resolve", |r| resolve_options(r).map(drop)),
        ("scene.camera", |r| camera_params(r).map(drop)),
        ("scene.lighting", |r| lighting_params(r).map(drop)),
        ("export.scene", |r| scene_export_params(r).map(drop)),
    ];
    for (node, check) in cases {
        let r = ParamReader::builtin(node, &empty).expect("node exists");
        check(&r).unwrap_or_else(|e| panic!("{node} defaults: {e}"));
        assert!(
            r.unread().is_empty(),
            "{node}: catalog parameters not honoured: {:?}",
            r.unread()
        );
    }
}

#[test]
fn values_override_defaults_and_bad_values_name_the_parameter() {
    let values = map(json!({"timeout": 5, "up_axis": "z", "linear_tolerance": 0.5}));
    let p =
        import_params(&ParamReader::builtin("cad.import", &values).expect("node")).expect("valid");
    assert_eq!(
        (p.timeout_s, p.up_axis.as_str(), p.linear_tolerance),
        (5, "z", 0.5)
    );
    for (node, values, needle) in [
        ("cad.import", json!({"timeout": 1}), "timeout"),
        ("cad.import", json!({"up_axis": "x"}), "up_axis"),
        ("render.thumbnail", json!({"width": "wide"}), "width"),
        (
            "scene.lighting",
            json!({"key_direction": [1, 2]}),
            "key_direction",
        ),
        (
            "cad.extract_metadata",
            json!({"key_separator": ""}),
            "key_separator",
        ),
    ] {
        let values = map(values);
        let r = ParamReader::builtin(node, &values).expect("node");
        let err = match node {
            "cad.import" => import_params(&r).map(drop),
            "render.thumbnail" => image_params(&r).map(drop),
            "scene.lighting" => lighting_params(&r).map(drop),
            _ => manifest_params(&r).map(drop),
        }
        .expect_err("invalid");
        assert_eq!(err.code(), "invalid_param");
        assert!(
            err.to_string().contains(needle) && err.to_string().contains(node),
            "{err}"
        );
    }
    assert!(ParamReader::builtin("no.such.node", &Map::new()).is_err());
}

/// Every node of the catalog that has parameters is covered by a typed reader above, so a
/// parameter no module reads cannot hide in a node the drift check forgot.
#[test]
fn every_node_with_parameters_has_a_reader() {
    let covered = [
        "cad.source",
        "cad.import",
        "cad.extract_metadata",
        "cad.export_glb",
        "render.thumbnail",
        "cad.publish",
        "order.source",
        "order.load_product_scene",
        "material.resolve",
        "scene.camera",
        "scene.lighting",
        "render.still",
        "render.turntable",
        "export.scene",
        "output.publish",
    ];
    for def in &workflow_contracts::Registry::builtin().nodes {
        assert!(
            def.params.is_empty() || covered.contains(&def.node_type.as_str()),
            "{} has parameters but no typed reader in the drift check",
            def.node_type
        );
    }
}

#[test]
fn order_source_settings_follow_node_values_and_overrides() {
    use workflow_contracts::{starter_graph, Family, Registry};
    let registry = Registry::builtin();
    let mut graph = starter_graph(Family::OrderLine, &registry);
    let none = Map::new();
    let s = order_source_settings(&graph, &registry, &none);
    assert!(s.apply_line_overrides);
    assert_eq!(s.priority, QueuePriority::Normal);
    let node = graph
        .nodes
        .iter_mut()
        .find(|n| n.node_type == "order.source")
        .expect("order.source");
    node.params.insert("priority".into(), json!("high"));
    node.params
        .insert("apply_line_overrides".into(), json!(false));
    let s = order_source_settings(&graph, &registry, &none);
    assert!(!s.apply_line_overrides);
    assert_eq!(s.priority, QueuePriority::High);
    assert_eq!(s.priority.rank(), 1);
    let s = order_source_settings(
        &graph,
        &registry,
        &map(json!({"order.source.priority": "low", "order.apply_line_overrides": true})),
    );
    assert!(s.apply_line_overrides);
    assert_eq!(s.priority, QueuePriority::Low);
    // A cad_file graph has no order.source: the defaults.
    let cad = starter_graph(Family::CadFile, &registry);
    assert_eq!(
        order_source_settings(&cad, &registry, &none),
        OrderSourceParams::default()
    );
}
