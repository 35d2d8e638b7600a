//! The rollout dashboard against a real embedded server (scripted modules): an output type in
//! shadow with a passing comparison is promoted to graph and rolled back by clicking, the
//! history shows both, a comparison opens the compare view, and a debugger's promotion is
//! refused by the server (403) and its button disabled with the server's reason.

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::Harness;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use workflow_contracts::output_type::Rollout;
use workflow_studio::app::{MainView, StudioApp};
use workflow_studio::command::Command;

use crate::support::until;

/// How long a step of these tests may take before it fails.
const WAIT: Duration = Duration::from_secs(30);

/// Plain HTTP to the embedded server for the set-up the dashboard does not do.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Http {
    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.rt.block_on(async {
            let mut req = self
                .client
                .request(method, format!("{}{path}", self.url))
                .bearer_auth(&self.token);
            if let Some(body) = body {
                req = req.json(&body);
            }
            let response = req.send().await.expect("request");
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(status.is_success(), "{path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body))
    }
}

struct Setup {
    server: workflow_server::embedded::BackgroundServer,
    _dir: tempfile::TempDir,
    output_type: String,
    legacy_run: String,
    shadow_run: String,
    debugger_token: String,
}

/// A server with an output type in shadow whose one comparison passed, and a debugger token.
fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background_with(
        dir.path(),
        Some(crate::support::scripted_modules()),
    )
    .expect("server starts");
    let http = Http {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        client: reqwest::Client::new(),
        url: server.url.clone(),
        token: server.admin_token.clone(),
    };
    let graph = http.get("/api/contracts/starters/order_line");
    let wf = http.post(
        "/api/workflows",
        json!({"name": "Hero stills", "graph": graph}),
    );
    let ot = http.post(
        "/api/output-types",
        json!({"name": "Hero still", "workflow_family": "order_line", "artifact_kind": "still",
               "workflow_id": wf["id"], "rollout": "shadow", "fallback_to_legacy": true,
               "legacy_settings": {}}),
    );
    let ot = ot["id"].as_str().expect("id").to_owned();
    http.send(
        reqwest::Method::PUT,
        &format!("/api/output-types/{ot}/rollout/policy"),
        Some(json!({"min_shadow_runs": 1})),
    );
    let d = http.post(
        &format!("/api/output-types/{ot}/dispatch"),
        json!({"inputs": {"product_id": "p1", "order_line_id": "o1"}}),
    );
    let legacy_run = d["runs"][0]["id"].as_str().expect("legacy").to_owned();
    let shadow_run = d["runs"][1]["id"].as_str().expect("shadow").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = http.get(&format!("/api/runs/{shadow_run}"));
        if run["parity"]["status"] == "done" {
            assert_eq!(run["parity"]["verdict"], "pass", "{run:#}");
            break;
        }
        assert!(Instant::now() < deadline, "not compared: {run:#}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = http.post(
        "/api/admin/tokens",
        json!({"role": "debugger", "label": "dana"}),
    );
    let debugger_token = token["token"].as_str().expect("token").to_owned();
    Setup {
        server,
        _dir: dir,
        output_type: ot,
        legacy_run,
        shadow_run,
        debugger_token,
    }
}

fn app(url: &str, token: &str) -> Harness<'static, StudioApp> {
    let mut h = crate::support::remote_app(url, token);
    until(&mut h, "connected", WAIT, |app| app.server.catalog_ready);
    h.get_by_label("Rollout").click();
    until(&mut h, "the dashboard loads", WAIT, |app| {
        app.state.view == MainView::Rollout && app.rollout.loaded
    });
    h
}

fn state_of(app: &StudioApp, ot: &str) -> Option<Rollout> {
    app.rollout.row(ot).map(|r| r.output_type.spec.rollout)
}

/// A node's text: a label widget keeps it as its value.
fn text_of(n: &egui_kittest::Node<'_>) -> String {
    let node = n.accesskit_node();
    node.label().or_else(|| node.value()).unwrap_or_default()
}

#[test]
fn promote_and_roll_back_by_clicking_and_open_a_comparison() {
    // Time stamps show in the user's zone: pinned here to Central European time (a POSIX
    // rule, so tzdata need not be installed), whatever zone the machine runs in.
    let cet = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("valid rule");
    workflow_studio::local_time::set_zone(cet.clone());
    let s = setup();
    let mut h = app(&s.server.url, &s.server.admin_token);
    let ot = s.output_type.clone();
    assert_eq!(h.state().rollout.selected.as_deref(), Some(ot.as_str()));
    // The dashboard shows the state, the pass rate, the readiness checks.
    h.get_by_label("Ready for graph");
    assert!(h
        .query_all_by_label_contains("100 % of 1 (1 pass, 0 warn, 0 fail)")
        .next()
        .is_some());
    h.state_mut()
        .rollout
        .reason
        .insert(ot.clone(), "shadow window clean".into());
    h.get_by_label("Promote to graph").click();
    until(&mut h, "promoted", WAIT, |app| {
        state_of(app, &ot) == Some(Rollout::Graph)
    });
    assert!(h
        .state()
        .rollout
        .message
        .as_deref()
        .is_some_and(|m| m.contains("is now in graph")));

    h.get_by_label("Roll back to legacy").click();
    until(&mut h, "rolled back", WAIT, |app| {
        state_of(app, &ot) == Some(Rollout::Legacy)
    });
    h.get_by_label("Load history").click();
    until(&mut h, "the history loads", WAIT, |app| {
        app.rollout.history.get(&ot).is_some_and(|h| h.len() == 3)
    });
    let history = h.state().rollout.history[&ot].clone();
    assert_eq!(history[0].to, Rollout::Legacy);
    assert_eq!(history[1].from, Some(Rollout::Shadow));
    assert_eq!(history[1].to, Rollout::Graph);
    assert_eq!(history[1].reason.as_deref(), Some("shadow window clean"));
    assert!(h
        .query_all_by_label_contains("shadow → graph · shadow window clean")
        .next()
        .is_some());
    // Local time, no "UTC" suffix; the stored instant is UTC and one hour behind in CET
    // (CEST: two) — the hover names the zone and the UTC time.
    let at = history[1].created_at;
    let local = workflow_studio::local_time::minute_in(at, &cet);
    let utc = workflow_studio::local_time::minute_in(at, &jiff::tz::TimeZone::UTC);
    assert_ne!(local, utc);
    let prefix = format!("{local} · ");
    let line = h
        .query_all_by_label_contains(&prefix)
        .find(|n| text_of(n).contains("shadow → graph"))
        .expect("the history line in local time");
    assert!(!text_of(&line).contains("UTC"));
    let note = workflow_studio::local_time::zone_note_in(at, &cet);
    assert!(
        note.contains("UTC+01:00") || note.contains("UTC+02:00"),
        "{note}"
    );

    // The comparison opens the two runs side by side.
    let outcome = h
        .state()
        .rollout
        .row(&ot)
        .and_then(|r| r.readiness.recent.first().cloned())
        .expect("a comparison");
    assert_eq!(outcome.shadow_run_id, s.shadow_run);
    h.get_by_label(&workflow_studio::app::rollout_comparison_label(&outcome))
        .click();
    until(&mut h, "the compare view opens", WAIT, |app| {
        app.state.view == MainView::Runs
            && app
                .runs
                .compare
                .as_ref()
                .is_some_and(|c| c.left.is_some() && c.right.is_some())
    });
    let cmp = h.state().runs.compare.as_ref().expect("compare");
    assert_eq!(cmp.left_id, s.legacy_run);
    assert_eq!(cmp.right_id, s.shadow_run);
    drop(h);
    s.server.shutdown();
}

#[test]
fn a_refused_role_disables_the_button_with_the_servers_reason() {
    let s = setup();
    let mut h = app(&s.server.url, &s.debugger_token);
    let ot = s.output_type.clone();
    assert_eq!(h.state().rollout.selected.as_deref(), Some(ot.as_str()));
    h.get_by_label("Promote to graph").click();
    until(&mut h, "the server refuses", WAIT, |app| {
        app.rollout
            .message
            .as_deref()
            .is_some_and(|m| m.contains("Refused"))
    });
    let button = h.get_by_label("Promote to graph");
    assert!(button.accesskit_node().is_disabled(), "disabled after 403");
    assert!(h
        .query_all_by_label_contains("may not change the rollout from shadow to graph")
        .next()
        .is_some());
    assert_eq!(state_of(h.state(), &ot), Some(Rollout::Shadow));
    // A debugger may still roll back.
    h.get_by_label("Roll back to legacy").click();
    until(&mut h, "rolled back", WAIT, |app| {
        state_of(app, &ot) == Some(Rollout::Legacy)
    });
    h.state_mut().send(Command::LoadRolloutHistory(ot.clone()));
    until(&mut h, "the history loads", WAIT, |app| {
        app.rollout.history.contains_key(&ot)
    });
    let latest = h.state().rollout.history[&ot][0].clone();
    assert_eq!(latest.actor["role"], "debugger");
    assert_eq!(latest.actor["label"], "dana");
    drop(h);
    s.server.shutdown();
}

/// The app asks the server who its token is (`GET /api/me`) and greys out what the role may
/// not do, with the reason on hover, instead of waiting for a 403.
#[test]
fn the_tokens_role_greys_out_what_the_server_would_refuse() {
    let s = setup();
    let mut h = app(&s.server.url, &s.debugger_token);
    until(&mut h, "who-am-I answers", WAIT, |app| {
        app.server.me.is_some()
    });
    assert!(
        h.query_all_by_label_contains("as debugger")
            .next()
            .is_some(),
        "the status bar names the role"
    );
    h.state_mut().send(Command::ShowView(MainView::OutputTypes));
    h.state_mut()
        .send(Command::SelectOutputType(s.output_type.clone()));
    until(&mut h, "the output type opens", WAIT, |app| {
        app.output_types.form.is_some()
    });
    for label in ["Save", "Delete"] {
        let button = h.get_by_label(label);
        assert!(button.accesskit_node().is_disabled(), "{label} greyed out");
    }
    // A shortcut or the palette reaches the same gate.
    h.state_mut().send(Command::SaveOutputType);
    h.run_ok();
    assert_eq!(
        h.state().status,
        "Your role (debugger) may not edit output types"
    );
    drop(h);
    s.server.shutdown();
}
