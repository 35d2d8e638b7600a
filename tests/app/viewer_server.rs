//! The viewer against a real server (embedded, production modules, real renderer): open an
//! uploaded product, repair its map, save with If-Match, survive a conflicting save from a
//! second client (reload and overwrite), add a library material, and render a preview still
//! through the server's render modules.

use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use serde_json::{json, Value};
use workflow_engine::materials::PbrMaterial;
use workflow_studio::app::StudioApp;
use workflow_studio::backend::client::ApiClient;
use workflow_studio::backend::ServerChoice;
use workflow_studio::command::Command;
use workflow_studio::viewer::preview::PreviewStatus;
use workflow_studio::viewer::{GlbSource, ViewerCommand};

struct Session {
    harness: Harness<'static, StudioApp>,
    server: Option<workflow_server::embedded::BackgroundServer>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown();
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    crate::support::gltf_bytes(name)
}

impl Session {
    fn start() -> Session {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = workflow_server::embedded::start_in_background(dir.path()).expect("server");
        let (url, token) = (server.url.clone(), server.admin_token.clone());
        let harness = crate::support::app_with_server(
            ServerChoice::Remote {
                url,
                token,
                ca_cert: None,
            },
            None,
            egui::vec2(1500.0, 950.0),
        );
        let mut s = Session {
            harness,
            server: Some(server),
            runtime: tokio::runtime::Runtime::new().expect("runtime"),
            _dir: dir,
        };
        s.until("connected", Duration::from_secs(20), |app| {
            app.server.client.is_some() && app.server.catalog_ready
        });
        s
    }

    fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&StudioApp) -> bool) {
        crate::support::wait_for(&mut self.harness, what, limit, done);
        self.settle();
    }

    fn url_token(&self) -> (String, String) {
        let s = self.server.as_ref().expect("server");
        (s.url.clone(), s.admin_token.clone())
    }

    /// Uploads a CAD file (multipart) and waits until its processing run published it.
    fn upload(&self, name: &str) -> String {
        let (url, token) = self.url_token();
        let bytes = fixture(name);
        let boundary = "viewer-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: model/gltf-binary\r\n\r\n"
        )
        .into_bytes();
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        self.runtime.block_on(async {
            let http = reqwest::Client::new();
            let answer: Value = http
                .post(format!("{url}/api/cad-files"))
                .bearer_auth(&token)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
                .send()
                .await
                .expect("upload")
                .json()
                .await
                .expect("upload answer");
            let id = answer["product"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no product in {answer}"))
                .to_owned();
            let client = ApiClient::new(&url, &token);
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let p = client.product(&id).await.expect("product");
                match p["status"].as_str() {
                    Some("processed") => break,
                    Some("failed") => panic!("processing failed: {p}"),
                    _ => {}
                }
                assert!(Instant::now() < deadline, "not processed in time: {p}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            id
        })
    }

    fn send(&mut self, c: Command) {
        self.harness.state_mut().send(c);
        self.settle();
    }

    /// A few frames (spinners keep asking for more, so `run` would never settle).
    fn settle(&mut self) {
        self.harness.run_steps(4);
    }

    /// Picks a library material the way a user would: find it, click it.
    fn choose(&mut self, material: &str) {
        self.harness.state_mut().viewer.library.filter = material.into();
        self.settle();
        self.harness.get_by_label(material).click();
        self.settle();
        assert_eq!(
            self.harness.state().viewer.library.chosen.as_deref(),
            Some(material)
        );
    }

    fn doc(&self) -> &workflow_studio::viewer::ViewerDoc {
        self.harness.state().viewer.doc.as_ref().expect("open")
    }
}

#[test]
fn repair_save_conflict_library_and_preview_against_a_real_server() {
    let mut s = Session::start();
    let id = s.upload("CesiumMilkTruck.glb");
    s.send(Command::OpenGlbInViewer(GlbSource::Product(id.clone())));
    s.until("the product opens", Duration::from_secs(60), |app| {
        app.viewer.doc.is_some()
    });
    assert_eq!(s.doc().version, Some(0));
    assert_eq!(s.doc().manifest.parts.len(), 3);
    assert!(
        s.doc().warnings.is_empty(),
        "the server's manifest matches the GLB: {:?}",
        s.doc().warnings
    );
    // The library came from the server.
    assert!(s.harness.state().viewer.library.entries.len() >= 32);

    // Repair: a rule for everything, then save (If-Match 0).
    s.choose("paint_red");
    s.harness.get_by_label("Rule pattern").click();
    s.settle();
    s.harness.get_by_label("Rule pattern").type_text("*");
    s.settle();
    s.harness.get_by_label("Rule would catch 3 part(s)");
    s.harness.get_by_label("Add rule").click();
    s.settle();
    s.harness.get_by_label("Save map").click();
    s.settle();
    s.until("saved", Duration::from_secs(20), |app| {
        app.viewer.doc.as_ref().is_some_and(|d| !d.is_dirty())
    });
    assert_eq!(s.doc().version, Some(1));
    let (url, token) = s.url_token();
    let other = ApiClient::new(&url, &token);
    let (server_map, version) = s
        .runtime
        .block_on(other.material_map(&id))
        .expect("server map");
    assert_eq!(version, 1);
    assert_eq!(server_map["rules"][0]["material"], "paint_red");

    // Someone else saves in between.
    let theirs = json!({"assignments": {}, "rules": [{"pattern": "*", "material": "chrome"}]});
    s.runtime
        .block_on(other.put_material_map(&id, 1, &theirs))
        .expect("their save");
    // Our next edit and save: 409, local edits kept.
    s.choose("brass");
    s.harness
        .get_all_by_label("Cesium_Milk_Truck")
        .next()
        .expect("row")
        .click();
    s.settle();
    s.harness.get_by_label("Assign to selection").click();
    s.settle();
    let ours = s.doc().map.clone();
    s.harness.get_by_label("Save map").click();
    s.settle();
    s.until("the conflict", Duration::from_secs(20), |app| {
        app.viewer.conflict.is_some()
    });
    assert_eq!(
        s.harness
            .state()
            .viewer
            .conflict
            .as_ref()
            .map(|c| c.version),
        Some(2)
    );
    assert_eq!(s.doc().map, ours, "local edits kept");
    assert!(s.doc().is_dirty());

    // Reload: the server's map, ours one undo away.
    s.harness.get_by_label("Reload server map").click();
    s.settle();
    s.until("reloaded", Duration::from_secs(20), |app| {
        app.viewer
            .doc
            .as_ref()
            .is_some_and(|d| d.version == Some(2))
    });
    assert_eq!(s.doc().map.rules[0].material, "chrome");
    s.send(Command::Viewer(ViewerCommand::Undo));
    assert_eq!(s.doc().map, ours);

    // Overwrite: save ours over version 2 after another conflict.
    s.harness.get_by_label("Save map").click();
    s.settle();
    s.until("saved over", Duration::from_secs(20), |app| {
        app.viewer.doc.as_ref().is_some_and(|d| !d.is_dirty())
    });
    assert_eq!(s.doc().version, Some(3));
    let (server_map, _) = s.runtime.block_on(other.material_map(&id)).expect("map");
    assert_eq!(
        serde_json::from_value::<workflow_engine::materials::MaterialMap>(server_map).expect("map"),
        ours
    );
    s.runtime
        .block_on(other.put_material_map(&id, 3, &theirs))
        .expect("their second save");
    s.send(Command::Viewer(ViewerCommand::AddRule {
        pattern: "*wheel*".into(),
        material: "rubber_black".into(),
        place: workflow_studio::viewer::RulePlace::First,
    }));
    s.harness.get_by_label("Save map").click();
    s.settle();
    s.until("the second conflict", Duration::from_secs(20), |app| {
        app.viewer.conflict.is_some()
    });
    s.harness.get_by_label("Overwrite server map").click();
    s.settle();
    s.until("overwritten", Duration::from_secs(20), |app| {
        app.viewer.doc.as_ref().is_some_and(|d| !d.is_dirty())
    });
    assert_eq!(s.doc().version, Some(5));

    // A new library material, assigned at once.
    let signal = PbrMaterial {
        name: "signal_green".into(),
        base_color: [0.02, 0.6, 0.05, 1.0],
        metallic: 0.0,
        roughness: 0.4,
        emissive: [0.0; 3],
        opacity: 1.0,
    };
    s.send(Command::Viewer(ViewerCommand::SaveMaterial {
        material: signal,
        create: true,
    }));
    s.until("the material is saved", Duration::from_secs(20), |app| {
        app.viewer
            .library
            .entries
            .iter()
            .any(|e| e.material.name == "signal_green")
    });
    assert!(s.doc().material("signal_green").is_some());

    // Preview still through the server's render modules.
    s.harness.get_by_label("Render preview still").click();
    s.settle();
    s.until("the preview", Duration::from_secs(240), |app| {
        matches!(
            app.viewer.preview.status,
            PreviewStatus::Done { .. } | PreviewStatus::Failed(_)
        )
    });
    match &s.harness.state().viewer.preview.status {
        PreviewStatus::Done { image, .. } => {
            assert_eq!(image.size, [768, 768]);
        }
        PreviewStatus::Failed(m) => panic!("preview failed: {m}"),
        _ => unreachable!(),
    }
    s.harness.get_by_label("Rendered preview still");
    // A preview is not production: no deliverable for the product, nothing in the outbox.
    let (url, token) = s.url_token();
    s.runtime.block_on(async {
        let http = reqwest::Client::new();
        let get = |path: String| {
            let (http, url, token) = (&http, &url, &token);
            async move {
                http.get(format!("{url}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("request")
                    .json::<Value>()
                    .await
                    .expect("json")
            }
        };
        let delivered = get(format!("/api/products/{id}/deliverables")).await;
        assert_eq!(delivered["deliverables"], json!([]), "{delivered}");
        let outbox = get("/api/notifications".into()).await;
        assert_eq!(outbox["total"], 0, "{outbox}");
    });
}
