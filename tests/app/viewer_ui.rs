//! The viewer tab driven through its accessibility tree, like a material specialist with a
//! keyboard and mouse: open a model, filter the part tree, select, assign, preview and add
//! rules, undo/redo, step through missing parts. No GPU here: the viewport's paint callback
//! simply is not run; everything it shows comes from the state these tests check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use workflow_contracts::Registry;
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::command::Command;
use workflow_studio::viewer::model::SourceKind;
use workflow_studio::viewer::GlbSource;

fn fixture(name: &str) -> Vec<u8> {
    crate::support::gltf_bytes(name)
}

/// The app with `name` opened in the viewer through `Command::OpenGlbInViewer` (decoded on a
/// background thread, as another view would hand bytes over).
fn viewer_with(name: &str) -> Harness<'static, StudioApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())));
    h.run();
    h.state_mut()
        .send(Command::OpenGlbInViewer(GlbSource::Bytes {
            name: name.into(),
            bytes: Arc::new(fixture(name)),
        }));
    let deadline = Instant::now() + Duration::from_secs(30);
    while h.state().viewer.doc.is_none() {
        assert!(
            Instant::now() < deadline,
            "the model did not open: {:?}",
            h.state().viewer.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run();
    assert_eq!(h.state().state.view, MainView::Viewer);
    h
}

fn doc<'a>(h: &'a Harness<'_, StudioApp>) -> &'a workflow_studio::viewer::ViewerDoc {
    h.state().viewer.doc.as_ref().expect("open")
}

#[test]
fn opens_with_the_part_tree_and_the_missing_count() {
    let h = viewer_with("SimpleInstancing.glb");
    assert_eq!(doc(&h).manifest.parts.len(), 125);
    // The loud header badge and the tree header both count the missing parts.
    h.get_by_label("⚠ 125 missing");
    h.get_by_label("125 missing");
    h.get_by_label("125 instances");
}

#[test]
fn filtering_the_part_tree_by_name_material_and_missing() {
    let mut h = viewer_with("2CylinderEngine.glb");
    assert!(h.query_all_by_label("body_1").next().is_some());
    h.get_by_label("Filter").click();
    h.run();
    h.get_by_label("Filter").type_text("lifter");
    h.run();
    assert!(
        h.query_all_by_label("Lifter_123-923_0_Parts_1")
            .next()
            .is_some(),
        "the lifter stays"
    );
    assert!(
        h.query_all_by_label("body_1").next().is_none(),
        "other parts are filtered out"
    );
    // By material: every part shown uses Material_17.
    h.state_mut().viewer.tree.filter = "material_17".into();
    h.run();
    let shown = {
        let app = h.state_mut();
        let doc = app.viewer.doc.as_ref().expect("open");
        let id = app.viewer.doc_id;
        let parts = app.viewer.tree.visible_parts(doc, id);
        assert!(!parts.is_empty());
        parts
            .iter()
            .all(|&p| doc.views[p].material.eq_ignore_ascii_case("Material_17"))
    };
    assert!(shown);
    // "missing" matches nothing: this file has materials for every part.
    h.state_mut().viewer.tree.filter = "missing".into();
    h.run();
    h.get_by_label("No part matches the filter.");
}

#[test]
fn select_assign_undo_redo() {
    let mut h = viewer_with("2CylinderEngine.glb");
    h.get_by_label("brass").click();
    h.run();
    assert_eq!(h.state().viewer.library.chosen.as_deref(), Some("brass"));
    h.get_by_label("body_1").click();
    h.run();
    let part = doc(&h).part_index("node[1]/node/body_1").expect("body_1");
    assert!(doc(&h).selection.contains(&part));
    h.get_by_label("Assign to selection").click();
    h.run();
    assert_eq!(
        doc(&h)
            .map
            .assignments
            .get("node[1]/node/body_1")
            .map(String::as_str),
        Some("brass")
    );
    assert_eq!(doc(&h).views[part].source, SourceKind::Explicit);
    assert!(doc(&h).is_dirty());
    h.get_by_label("Undo").click();
    h.run();
    assert!(doc(&h).map.assignments.is_empty());
    assert_eq!(doc(&h).views[part].source, SourceKind::File);
    h.get_by_label("Redo").click();
    h.run();
    assert_eq!(doc(&h).map.assignments.len(), 1);
    // Ctrl+Z in the viewer undoes the map, not the graph editor.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run();
    assert!(doc(&h).map.assignments.is_empty());
}

#[test]
fn assign_to_every_instance_of_a_shared_mesh() {
    let mut h = viewer_with("2CylinderEngine.glb");
    h.get_by_label("chrome").click();
    h.run();
    // `body` under node[1] uses a mesh shared by 4 part instances.
    h.get_all_by_label("body")
        .next()
        .expect("a body row")
        .click();
    h.run();
    let siblings = doc(&h).mesh_siblings_of_selection();
    assert!(siblings.len() >= 2, "{siblings:?}");
    h.get_by_label("Assign to all instances").click();
    h.run();
    for p in siblings {
        assert_eq!(doc(&h).views[p].material, "chrome");
        assert_eq!(doc(&h).views[p].source, SourceKind::Explicit);
    }
}

#[test]
fn rule_preview_counts_then_rules_are_added_reordered_deleted_and_undone() {
    let mut h = viewer_with("SimpleInstancing.glb");
    h.get_by_label("steel_brushed").click();
    h.run();
    h.get_by_label("Rule pattern").click();
    h.run();
    h.get_by_label("Rule pattern").type_text("node@1*");
    h.run();
    // node@1, node@10..19, node@100..124: 1 + 10 + 25.
    h.get_by_label("Rule would catch 36 part(s)");
    assert_eq!(doc(&h).missing_count(), 125, "previewing changes nothing");
    h.get_by_label("Add rule").click();
    h.run();
    assert_eq!(doc(&h).map.rules.len(), 1);
    assert_eq!(doc(&h).missing_count(), 125 - 36);
    h.get_by_label("⚠ 89 missing");
    // A catch-all after it: the first rule keeps its parts.
    h.get_by_label("Rule pattern").click();
    h.run();
    h.get_by_label("Rule pattern").type_text("*");
    h.run();
    h.get_by_label("Rule would catch 89 part(s)");
    h.get_by_label("Add rule").click();
    h.run();
    assert_eq!(doc(&h).missing_count(), 0);
    h.get_by_label("Move rule 2 up").click();
    h.run();
    assert_eq!(doc(&h).map.rules[0].pattern, "*");
    h.get_by_label("Delete rule 1").click();
    h.run();
    assert_eq!(doc(&h).map.rules.len(), 1);
    assert_eq!(doc(&h).missing_count(), 89);
    h.get_by_label("Undo").click();
    h.run();
    assert_eq!(doc(&h).map.rules.len(), 2);
    assert_eq!(doc(&h).missing_count(), 0);
}

#[test]
fn stepping_through_missing_parts_selects_each_in_turn() {
    let mut h = viewer_with("SimpleInstancing.glb");
    h.get_by_label("Next missing").click();
    h.run();
    let first: Vec<usize> = doc(&h).selection.iter().copied().collect();
    assert_eq!(first.len(), 1);
    h.get_by_label("Next missing").click();
    h.run();
    let second: Vec<usize> = doc(&h).selection.iter().copied().collect();
    assert_eq!(second.len(), 1);
    assert_ne!(first, second);
    assert!(doc(&h).missing().contains(&second[0]));
    // Missing only keeps every missing part in the tree.
    h.get_by_label("Missing only").click();
    h.run();
    let app = h.state_mut();
    let id = app.viewer.doc_id;
    let doc = app.viewer.doc.as_ref().expect("open");
    assert_eq!(app.viewer.tree.visible_parts(doc, id).len(), 125);
}

#[test]
fn a_malformed_file_reports_an_error_and_keeps_the_open_model() {
    let mut h = viewer_with("Box.glb");
    h.state_mut()
        .send(Command::OpenGlbInViewer(GlbSource::Bytes {
            name: "broken.glb".into(),
            bytes: Arc::new(b"glTF\x02\0\0\0\x10\0\0\0".to_vec()),
        }));
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.state().viewer.error.is_none() {
        assert!(Instant::now() < deadline, "no error reported");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run();
    let error = h.state().viewer.error.clone().unwrap_or_default();
    assert!(error.contains("broken.glb"), "{error}");
    assert_eq!(doc(&h).source.title(), "Box.glb");
}

#[test]
fn with_file_materials_the_header_counts_unmapped_and_missing_parts_apart() {
    let mut h = viewer_with("CesiumMilkTruck.glb");
    let total = doc(&h).manifest.parts.len();
    assert!(doc(&h).use_file_materials, "on by default");
    assert_eq!(doc(&h).missing_count(), 0, "every part has a file material");
    // Nothing is assigned in the map: the header must not claim the map is complete.
    h.get_by_label("✔ none without any material");
    h.get_by_label(&format!("{total} of {total} without a map assignment"));
    assert!(h.query_by_label("✔ all parts have a material").is_none());
    // Assign one part: one fewer without a map assignment.
    h.get_by_label("brass").click();
    h.run();
    h.state_mut().send(Command::Viewer(
        workflow_studio::viewer::ViewerCommand::Select {
            parts: vec![0],
            mode: workflow_studio::viewer::SelectMode::Replace,
        },
    ));
    h.run();
    h.get_by_label("Assign to selection").click();
    h.run();
    h.get_by_label(&format!(
        "{} of {total} without a map assignment",
        total - 1
    ));
    // File materials off: the rest count as missing (nothing at all).
    h.state_mut().send(Command::Viewer(
        workflow_studio::viewer::ViewerCommand::SetUseFileMaterials(false),
    ));
    h.run();
    h.get_by_label(&format!("⚠ {} missing", total - 1));
    h.get_by_label(&format!(
        "{} of {total} without a map assignment",
        total - 1
    ));
}

#[test]
fn placeholder_step_names_show_readable_labels_and_keep_their_keys() {
    // A pipe-flange-style export: every product named NONE (derived from the ABC fixture,
    // whose six solids keep their geometry).
    let step = std::fs::read_to_string(crate::support::fixtures().join("step/abc-0000.step"))
        .expect("fixture");
    let mut derived = String::new();
    for line in step.lines() {
        let line = match line.split_once("= PRODUCT( '") {
            Some((head, _)) => {
                let rest = line.splitn(4, '\'').nth(3).unwrap_or("");
                let rest = rest.split_once('\'').map_or("", |(_, r)| r);
                format!("{head}= PRODUCT( 'NONE', 'NONE'{rest}")
            }
            None => line.to_owned(),
        };
        derived.push_str(&line);
        derived.push('\n');
    }
    assert_eq!(derived.matches("PRODUCT( 'NONE', 'NONE'").count(), 6);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pipe-flange.step");
    std::fs::write(&path, derived).expect("write");

    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())));
    h.run();
    h.state_mut()
        .send(Command::OpenGlbInViewer(GlbSource::Path(path)));
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().viewer.doc.is_none() {
        assert!(
            Instant::now() < deadline,
            "the STEP file did not open (workflow-step-converter: `cargo test --workspace` builds it): {:?}",
            h.state().viewer.error
        );
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run();
    let keys: Vec<String> = doc(&h)
        .manifest
        .parts
        .iter()
        .map(|p| p.part_key.clone())
        .collect();
    assert_eq!(keys.len(), 6);
    assert_eq!(keys[0], "NONE");
    assert_eq!(keys[5], "NONE[5]", "keys stay as the file gives them");
    for n in 1..=6 {
        h.get_by_label(&format!("body {n}"));
    }
    assert!(
        h.query_by_label("NONE[1]").is_none(),
        "no row shows the placeholder"
    );
    // The filter still finds parts by their key.
    h.get_by_label("Filter").click();
    h.run();
    h.get_by_label("Filter").type_text("none[5]");
    h.run();
    h.get_by_label("body 6");
    assert!(h.query_by_label("body 1").is_none());
}

#[test]
fn opening_the_preview_panel_re_frames_the_squeezed_viewport() {
    let mut h = viewer_with("CesiumMilkTruck.glb");
    h.run();
    let (aspect0, cam0) = (h.state().viewer.aspect, h.state().viewer.camera);
    // Turn the model a little, as a user would, then open the preview panel.
    h.state_mut().viewer.camera.orbit(40.0, 0.0);
    let azimuth = h.state().viewer.camera.azimuth;
    h.state_mut().viewer.preview.status =
        workflow_studio::viewer::preview::PreviewStatus::Failed("no server".into());
    h.run();
    let v = &h.state().viewer;
    assert!(
        v.aspect < aspect0 * 0.9,
        "the panel squeezes: {aspect0} -> {}",
        v.aspect
    );
    let mut expected = v.camera;
    expected.fit(&doc(&h).bounds(), v.aspect);
    assert_eq!(v.camera, expected, "framed for the new width");
    assert!(
        v.camera.distance > cam0.distance,
        "backs off to keep the model in view"
    );
    assert_eq!(v.camera.azimuth, azimuth, "the user's direction is kept");
    // Closing it frames again for the full width.
    h.state_mut().viewer.preview.status = Default::default();
    h.run();
    let v = &h.state().viewer;
    assert!((v.aspect - aspect0).abs() < 1e-3);
    let mut expected = v.camera;
    expected.fit(&doc(&h).bounds(), v.aspect);
    assert_eq!(v.camera, expected);
}

#[test]
fn assign_to_all_instances_covers_every_step_placement() {
    // The product GLB as `cad_file` processing writes it for the AS1 STEP assembly: the six
    // placements of the bolt share one mesh, so "all instances" of one bolt is all six.
    use workflow_engine::export_glb::{export_glb, ExportParams, SceneAdditions};
    let scene = workflow_engine::import_file(
        &crate::support::fixtures().join("step/as1-oc-214.step"),
        &workflow_engine::ImportParams::default(),
    )
    .expect("STEP imports (workflow-step-converter: `cargo test --workspace` builds it)");
    let manifest = workflow_engine::extract_manifest(&scene, &Default::default()).expect("parts");
    let glb = export_glb(
        &scene,
        &manifest,
        &ExportParams::default(),
        &SceneAdditions::default(),
    )
    .expect("export");
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_max_steps(64)
        .build_eframe(|_cc| StudioApp::new(Arc::new(Registry::builtin())));
    h.run();
    h.state_mut()
        .send(Command::OpenGlbInViewer(GlbSource::Bytes {
            name: "as1-oc-214.glb".into(),
            bytes: Arc::new(glb),
        }));
    // The support's wait names the viewer's error when it times out.
    crate::support::wait_for(&mut h, "the model opens", Duration::from_secs(30), |app| {
        app.viewer.doc.is_some()
    });
    h.run();
    let bolts: Vec<String> = doc(&h)
        .manifest
        .parts
        .iter()
        .filter(|p| p.part_key.ends_with("/bolt_1"))
        .map(|p| p.part_key.clone())
        .collect();
    assert_eq!(bolts.len(), 6);
    h.get_by_label("chrome").click();
    h.run();
    // The bolts sit three levels down: the filter opens the way to them.
    h.get_by_label("Filter").click();
    h.run();
    h.get_by_label("Filter").type_text("bolt");
    h.run();
    h.get_all_by_label("bolt_1")
        .next()
        .expect("a bolt row")
        .click();
    h.run();
    assert_eq!(doc(&h).mesh_siblings_of_selection().len(), 6);
    h.get_by_label("Assign to all instances").click();
    h.run();
    for key in &bolts {
        assert_eq!(
            doc(&h).map.assignments.get(key).map(String::as_str),
            Some("chrome"),
            "{key}"
        );
    }
    assert_eq!(doc(&h).map.assignments.len(), 6, "bolts only");
}
