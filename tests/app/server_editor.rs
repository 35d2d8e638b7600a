//! The editor against a real embedded server: save, a conflicting save from a second client,
//! and each way of resolving it without losing anything.

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::json;
use std::time::{Duration, Instant};
use workflow_studio::app::StudioApp;
use workflow_studio::backend::client::ApiClient;
use workflow_studio::backend::ServerChoice;
use workflow_studio::command::Command;
use workflow_studio::editor::document::Edit;

struct Session {
    harness: Harness<'static, StudioApp>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start() -> Session {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_path_buf();
    let harness = crate::support::app_with_server(
        ServerChoice::Embedded { data_dir },
        None,
        egui::vec2(1400.0, 900.0),
    );
    let runtime = tokio::runtime::Runtime::new().expect("test runtime");
    let mut s = Session {
        harness,
        runtime,
        _dir: dir,
    };
    s.until("the catalog loads", |app| {
        app.server.catalog_ready && !app.server.workflows.is_empty()
    });
    s
}

impl Session {
    /// Steps the UI until `done` holds, then lets it settle.
    fn until(&mut self, what: &str, done: impl Fn(&StudioApp) -> bool) {
        crate::support::until(&mut self.harness, what, Duration::from_secs(20), done);
        self.harness.run();
    }

    fn client(&self) -> ApiClient {
        self.harness
            .state()
            .server
            .client
            .clone()
            .expect("connected")
    }

    fn saved_new_workflow(&mut self) -> String {
        self.harness.get_by_label("New order_line workflow").click();
        self.until("the starter opens", |app| app.editor.is_some());
        self.harness
            .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
        self.until("the first save lands", |app| {
            app.editor
                .as_ref()
                .is_some_and(|e| e.doc.id.is_some() && !e.doc.is_dirty())
        });
        self.harness
            .state()
            .editor
            .as_ref()
            .and_then(|e| e.doc.id.clone())
            .expect("saved")
    }

    /// Another client renames the workflow: version 1 → 2 behind the app's back.
    fn someone_else_saves(&self, id: &str) {
        let client = self.client();
        self.runtime.block_on(async {
            let wf = client.workflow(id).await.expect("exists");
            client
                .update_workflow(id, wf.version, "Renamed elsewhere", &wf.graph)
                .await
                .expect("their save")
        });
    }

    fn edit_width_and_save(&mut self) {
        self.harness.state_mut().send(Command::edit(Edit::SetParam {
            node: "render".into(),
            param: "width".into(),
            value: json!(1024),
        }));
        self.harness.run();
        self.harness
            .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
        self.until("the conflict comes back", |app| {
            app.server.conflict.is_some()
        });
    }
}

#[test]
fn conflicting_save_offers_three_choices_and_save_as_copy_keeps_both() {
    let mut s = start();
    let id = s.saved_new_workflow();
    s.someone_else_saves(&id);
    s.edit_width_and_save();
    s.harness.get_by_label("Saved by someone else");
    s.harness.get_by_label("Save mine as a copy").click();
    s.until("the copy is saved", |app| {
        app.editor.as_ref().is_some_and(|e| {
            e.doc.id.as_deref() != Some(id.as_str()) && e.doc.id.is_some() && !e.doc.is_dirty()
        })
    });
    let copy_id = s
        .harness
        .state()
        .editor
        .as_ref()
        .and_then(|e| e.doc.id.clone())
        .expect("copy");
    let client = s.client();
    let (theirs, mine) = s.runtime.block_on(async {
        (
            client.workflow(&id).await.expect("theirs"),
            client.workflow(&copy_id).await.expect("mine"),
        )
    });
    assert_eq!(theirs.name, "Renamed elsewhere");
    assert_eq!(theirs.version, 2);
    assert_eq!(
        mine.graph.node("render").map(|n| n.params["width"].clone()),
        Some(json!(1024))
    );
    assert!(mine.name.ends_with("(copy)"));
}

#[test]
fn overwrite_makes_mine_the_next_version_and_reload_shows_theirs() {
    let mut s = start();
    let id = s.saved_new_workflow();
    s.someone_else_saves(&id);
    s.edit_width_and_save();
    s.harness.get_by_label("Overwrite with mine").click();
    s.until("the overwrite lands", |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.version == Some(3) && !e.doc.is_dirty())
    });
    let client = s.client();
    let server = s.runtime.block_on(client.workflow(&id)).expect("exists");
    assert_eq!(
        server
            .graph
            .node("render")
            .map(|n| n.params["width"].clone()),
        Some(json!(1024))
    );

    s.someone_else_saves(&id);
    s.edit_width_and_save();
    s.harness.get_by_label("Reload theirs").click();
    s.until("their version opens", |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.version == Some(4))
    });
    let editor = s.harness.state().editor.as_ref().expect("open");
    assert_eq!(editor.doc.name, "Renamed elsewhere");
    assert!(!editor.doc.is_dirty());
}

#[test]
fn invalid_graph_save_is_refused_with_the_servers_errors_on_the_nodes() {
    let mut s = start();
    s.saved_new_workflow();
    s.harness
        .state_mut()
        .send(Command::Select(vec!["camera".into()]));
    s.harness.run();
    s.harness.key_press(egui::Key::Delete);
    s.harness.run();
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    s.until("the server refuses", |app| {
        app.status.starts_with("Not saved")
    });
    let editor = s.harness.state().editor.as_ref().expect("open");
    assert!(editor.doc.is_dirty(), "the refused edits are still there");
    assert!(editor
        .report
        .errors
        .iter()
        .any(|e| e.nodes.contains(&"lighting".to_owned())));
}

#[test]
fn history_lists_revisions_and_restore_saves_an_earlier_one_as_new_version() {
    let mut s = start();
    let id = s.saved_new_workflow();
    s.harness.state_mut().send(Command::edit(Edit::SetParam {
        node: "render".into(),
        param: "width".into(),
        value: json!(640),
    }));
    s.harness.run();
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    s.until("version 2 is saved", |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.version == Some(2) && !e.doc.is_dirty())
    });
    s.harness.state_mut().send(Command::Select(vec![]));
    s.harness.state_mut().send(Command::LoadHistory);
    s.until("the history loads", |app| {
        app.server
            .revisions
            .as_ref()
            .is_some_and(|(w, r)| *w == id && r.len() == 2)
    });
    s.harness.get_by_label("Restore").click();
    s.until("revision 1 comes back as version 3", |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.version == Some(3))
    });
    let editor = s.harness.state().editor.as_ref().expect("open");
    assert_eq!(
        editor.doc.node("render").map(|n| n.params["width"].clone()),
        Some(json!(2048))
    );
}

#[test]
fn unreachable_server_opens_read_only_from_the_cached_catalog() {
    let cache = tempfile::tempdir().expect("cache dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry = workflow_contracts::Registry::builtin();
    runtime.block_on(workflow_studio::backend::catalog_cache::write(
        cache.path(),
        &workflow_studio::backend::client::Catalog {
            registry,
            etag: Some("\"cached\"".into()),
        },
    ));
    // Nothing listens on port 9 of loopback: connections are refused at once.
    let choice = ServerChoice::Remote {
        url: "http://127.0.0.1:9".into(),
        token: "t".into(),
        ca_cert: None,
    };
    let cache_dir = cache.path().to_path_buf();
    let mut harness =
        crate::support::app_with_server(choice, Some(cache_dir), egui::vec2(1200.0, 800.0));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !harness.state().server.catalog_ready {
        assert!(
            Instant::now() < deadline,
            "catalog never came from the cache"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.run();
    assert!(harness.state().server.catalog_from_cache);
    assert!(harness.state().read_only());
    assert!(!harness.state().registry.nodes.is_empty());
    harness.get_by_label("Offline — read-only, reconnecting");
    harness.state_mut().send(Command::Save);
    harness.run();
    assert!(
        harness.state().status.starts_with("Offline"),
        "{}",
        harness.state().status
    );
}

#[test]
fn output_type_form_is_workflow_first_and_shows_server_errors_on_the_override() {
    use workflow_contracts::output_type::{ArtifactKind, Rollout};
    let mut s = start();
    s.harness.get_by_label("Output types").click();
    s.until("the seeded output types load", |app| {
        app.output_types.records.len() >= 4
    });
    s.harness.get_by_label("Still 2048 white");
    s.harness.get_by_label("New output type").click();
    s.harness.run();
    let workflow = s
        .harness
        .state()
        .server
        .workflows
        .iter()
        .find(|w| w.family == Some(workflow_contracts::Family::OrderLine))
        .cloned()
        .expect("a seeded order_line workflow");
    {
        let form = s
            .harness
            .state_mut()
            .output_types
            .form
            .as_mut()
            .expect("form open");
        form.spec.name = "Hero still 1k".into();
        form.spec.workflow_id = Some(workflow.id.clone());
        form.spec.rollout = Rollout::Graph;
        form.spec.fallback_to_legacy = true;
        form.spec
            .invocation_overrides
            .insert("render.width".into(), json!(0));
    }
    s.harness.run();
    // The workflow only renders stills, so that is the only kind on offer.
    assert_eq!(
        s.harness
            .state()
            .output_types
            .form
            .as_ref()
            .map(|f| f.spec.artifact_kind),
        Some(ArtifactKind::Still)
    );
    s.harness.get_by_label("Create").click();
    s.until("the server refuses the override", |app| {
        !app.output_types.problems.is_empty()
    });
    let problem = &s.harness.state().output_types.problems[0];
    assert_eq!(problem.field, "invocation_overrides.render.width");
    assert!(
        problem.message.contains("below minimum 16"),
        "{}",
        problem.message
    );

    s.harness
        .state_mut()
        .output_types
        .form
        .as_mut()
        .expect("form open")
        .spec
        .invocation_overrides
        .insert("render.width".into(), json!(1024));
    s.harness.get_by_label("Create").click();
    s.until("the output type is created", |app| {
        app.output_types
            .records
            .iter()
            .any(|r| r.spec.name == "Hero still 1k")
    });
    let created = s
        .harness
        .state()
        .output_types
        .records
        .iter()
        .find(|r| r.spec.name == "Hero still 1k")
        .cloned()
        .expect("created");
    assert_eq!(
        created.spec.workflow_id.as_deref(),
        Some(workflow.id.as_str())
    );
    assert_eq!(
        created.spec.invocation_overrides["render.width"],
        json!(1024)
    );
}

#[test]
fn deleting_a_workflow_asks_first_and_cancel_keeps_it() {
    let mut s = start();
    let id = s.saved_new_workflow();
    let version = s
        .harness
        .state()
        .editor
        .as_ref()
        .and_then(|e| e.doc.version)
        .expect("saved");
    s.harness.state_mut().send(Command::DeleteWorkflow {
        id: id.clone(),
        version,
    });
    s.harness.run();
    s.harness.get_by_label("Delete workflow?");
    s.harness.get_by_label("Cancel").click();
    s.harness.run();
    assert!(s.harness.state().state.pending_delete.is_none());
    assert!(s
        .harness
        .state()
        .server
        .workflows
        .iter()
        .any(|w| w.id == id));

    s.harness.state_mut().send(Command::DeleteWorkflow {
        id: id.clone(),
        version,
    });
    s.harness.run();
    s.harness.get_by_label("Delete").click();
    s.until("the workflow is gone", |app| {
        app.server.workflows.iter().all(|w| w.id != id) && app.status == "Workflow deleted"
    });
    // The open copy stays, as new unsaved work.
    assert!(s
        .harness
        .state()
        .editor
        .as_ref()
        .is_some_and(|e| e.doc.id.is_none()));
}

#[test]
fn authoring_round_trip_against_the_embedded_server() {
    let mut s = start();
    s.harness.get_by_label("New order_line workflow").click();
    s.until("the starter opens", |app| app.editor.is_some());
    // Insert through search, wired to the selected node.
    s.harness
        .state_mut()
        .send(Command::Select(vec!["lighting".into()]));
    s.harness.run();
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    s.harness.run();
    s.harness
        .get_by_label("Search nodes")
        .type_text("export scene");
    s.harness.run();
    s.harness.key_press(egui::Key::Enter);
    s.harness.run();
    let graph = s
        .harness
        .state()
        .editor
        .as_ref()
        .expect("open")
        .doc
        .graph
        .clone();
    let export = graph
        .nodes
        .iter()
        .find(|n| n.node_type == "export.scene")
        .expect("inserted")
        .id
        .clone();
    assert!(graph.edges.contains(&workflow_contracts::Edge::new(
        "lighting", "scene", &export, "scene"
    )));
    // Wire its file into the publisher, then break a parameter and see the server agree.
    s.harness
        .state_mut()
        .send(Command::edit(Edit::Connect(workflow_contracts::Edge::new(
            &export,
            "scene_file",
            "publish",
            "scene_file",
        ))));
    s.harness.state_mut().send(Command::edit(Edit::SetParam {
        node: export.clone(),
        param: "format".into(),
        value: json!("fbx"),
    }));
    s.harness.run();
    s.harness.state_mut().send(Command::ValidateNow);
    s.until("the server's report arrives", |app| {
        app.editor.as_ref().is_some_and(|e| {
            e.report
                .errors
                .iter()
                .any(|p| p.param.as_deref() == Some("format"))
        })
    });
    // Undo the bad value, auto-layout, save.
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    s.harness.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::L,
    );
    s.harness.run();
    assert!(s
        .harness
        .state()
        .editor
        .as_ref()
        .is_some_and(|e| e.report.valid));
    s.harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    s.until("saved", |app| {
        app.editor
            .as_ref()
            .is_some_and(|e| e.doc.id.is_some() && !e.doc.is_dirty())
    });
    let id = s
        .harness
        .state()
        .editor
        .as_ref()
        .and_then(|e| e.doc.id.clone())
        .expect("saved");
    let saved = s
        .runtime
        .block_on(s.client().workflow(&id))
        .expect("on the server");
    assert!(saved.graph.node(&export).is_some());
    assert!(saved
        .graph
        .edges
        .iter()
        .any(|e| e.from.node == export && e.to.node == "publish"));
}

#[test]
fn a_scene_export_output_type_offers_every_format_the_catalog_has() {
    use workflow_contracts::output_type::ArtifactKind;
    use workflow_contracts::Family;
    let mut s = start();
    s.harness.get_by_label("Output types").click();
    s.until("the seeded output types load", |app| {
        app.output_types.records.len() >= 4
    });
    s.harness.get_by_label("New output type").click();
    s.harness.run();
    {
        let form = s
            .harness
            .state_mut()
            .output_types
            .form
            .as_mut()
            .expect("form open");
        form.spec.name = "Scene for DCC".into();
        form.spec.workflow_family = Family::OrderLine;
        form.spec.artifact_kind = ArtifactKind::SceneExport;
    }
    s.harness.run();
    // The choices come from the served catalog's export.scene `format`, not from the app.
    let formats = s
        .harness
        .state()
        .registry
        .get("export.scene")
        .and_then(|d| d.param("format"))
        .map(|p| p.options.clone())
        .expect("export.scene format in the catalog");
    for f in ["glb", "gltf", "blend", "usd"] {
        assert!(formats.iter().any(|o| o == f), "{f} in {formats:?}");
    }
    s.harness
        .get_by_label("Scene format (legacy pipeline)")
        .click();
    s.harness.run();
    for f in &formats {
        s.harness.get_by_label(f.as_str());
    }
    s.harness.get_by_label("usd").click();
    s.harness.run();
    let form = s.harness.state().output_types.form.clone().expect("form");
    assert_eq!(form.spec.legacy_settings["format"], json!("usd"));
    assert!(form.legacy_text.contains("\"usd\""), "{}", form.legacy_text);
    s.harness.get_by_label("Create").click();
    s.until("the output type is created", |app| {
        app.output_types
            .records
            .iter()
            .any(|r| r.spec.name == "Scene for DCC")
    });
    let created = s
        .harness
        .state()
        .output_types
        .records
        .iter()
        .find(|r| r.spec.name == "Scene for DCC")
        .cloned()
        .expect("created");
    assert_eq!(created.spec.legacy_settings["format"], json!("usd"));
    assert_eq!(created.spec.artifact_kind, ArtifactKind::SceneExport);
}
