//! Several processes on one database: `workflow-server serve --workers 0` API servers and
//! `workflow-server worker` processes, spawned from the built binary on this test pass's
//! database (one SQLite file shared by the processes in pass 1, PostgreSQL in pass 2), with a
//! shared data directory (what every host mounts). Real renders with the production modules,
//! short leases so a dead worker's job is taken over within seconds.

use super::common::*;
use super::products::{finished, small_thumbnail, upload};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use workflow_server::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_workflow-server");

/// Test leases: a dead worker's job is free again 2 s after its last heartbeat.
const QUEUE_ARGS: [&str; 6] = [
    "--lease-seconds",
    "2",
    "--heartbeat-seconds",
    "0.2",
    "--poll-seconds",
    "0.1",
];

/// A child process, killed when dropped (a failing test leaves nothing running).
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One database and data directory (and this pass's artifact store: the data directory, or a
/// bucket on the S3 test server), migrated, with a token per role.
struct Cluster {
    dir: Arc<TempDir>,
    url: String,
    artifacts: Option<String>,
    tokens: [String; 4],
    store: Arc<dyn Store>,
}

async fn cluster() -> Cluster {
    cluster_on(None).await
}

/// A cluster on `url`, or on this test pass's database.
async fn cluster_on(url: Option<String>) -> Cluster {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = match url {
        Some(url) => url,
        None => test_db_url(dir.path()).await,
    };
    // Migrated here first, as a deployment's server would: workers refuse an older schema.
    let store = workflow_server::app::open_store(&url).await.expect("store");
    let tokens = crate::common::role_tokens(store.as_ref()).await;
    let artifacts = crate::common::test_artifacts_spec(dir.path()).await;
    Cluster {
        dir,
        url,
        artifacts,
        tokens,
        store,
    }
}

impl Cluster {
    fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        self.spawn_env(name, args, &[])
    }

    fn spawn_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let data_dir = self.dir.path().to_string_lossy().into_owned();
        let child = Command::new(BIN)
            .args(args)
            .args(["--db", &self.url, "--data-dir", &data_dir])
            .args(
                self.artifacts
                    .iter()
                    .flat_map(|a| ["--artifacts", a.as_str()]),
            )
            .args(QUEUE_ARGS)
            .env("RUST_LOG", "info,sqlx=warn")
            .envs(env.iter().copied())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("spawn workflow-server");
        Proc { child, log }
    }

    /// `serve --workers 0`: an API server that renders nothing itself.
    async fn server(&self, name: &str) -> (Proc, TestApp) {
        self.server_env(name, "0", &[]).await
    }

    /// [`Cluster::server`] with `workers` workers of its own and extra environment variables.
    async fn server_env(&self, name: &str, workers: &str, env: &[(&str, &str)]) -> (Proc, TestApp) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut proc = self.spawn_env(name, &["serve", "--addr", &addr, "--workers", workers], env);
        let url = format!("http://{addr}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = client.get(format!("{url}/api/health")).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if let Some(status) = proc.child.try_wait().expect("try_wait") {
                panic!("{name} exited ({status}): {}", proc.log());
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start: {}",
                proc.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let app = TestApp::remote(
            url,
            self.tokens.clone(),
            self.store.clone(),
            self.dir.clone(),
        );
        (proc, app)
    }

    fn worker(&self, name: &str, drain_seconds: &str) -> Proc {
        self.spawn(
            name,
            &[
                "worker",
                "--workers",
                "1",
                "--name",
                name,
                "--drain-seconds",
                drain_seconds,
            ],
        )
    }
}

/// Polls the run through `app` until `done(run)`, for up to `within`.
async fn poll_run(
    app: &TestApp,
    run_id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let run = json_of(
            app.get(&format!("/api/runs/{run_id}"), &app.debugger).await,
            StatusCode::OK,
        )
        .await;
        if done(&run) {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} did not get there: {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn turntable_running(run: &Value) -> bool {
    run["nodes"].as_array().is_some_and(|nodes| {
        nodes.iter().any(|n| {
            n["status"] == "running"
                && n["node_id"]
                    .as_str()
                    .is_some_and(|id| id.contains("turntable"))
        })
    })
}

/// Uploads the Box product (its processing runs on a worker) and dispatches a turntable
/// order line big enough to be caught mid-render: (product id, order line id, run id).
async fn dispatch_turntable(app: &TestApp) -> (String, String, String) {
    let created = json_of(
        upload(app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let processed = finished(app, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(processed["status"], "succeeded", "{processed:#}");
    let product_id = created["product"]["id"].as_str().expect("id").to_owned();
    let types = json_of(
        app.get("/api/output-types", &app.author).await,
        StatusCode::OK,
    )
    .await;
    let turntable = types
        .as_array()
        .and_then(|all| all.iter().find(|o| o["name"] == "Turntable 36 frames"))
        .and_then(|o| o["id"].as_str())
        .expect("seeded turntable output type")
        .to_owned();
    let line = json_of(
        app.post(
            "/api/order-lines",
            &app.author,
            &json!({"product_id": product_id, "output_type_id": turntable,
                "overrides": {"render.turntable.frame_count": 24,
                    "render.turntable.width": 160, "render.turntable.height": 160}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let line_id = line["id"].as_str().expect("line id").to_owned();
    let dispatched = json_of(
        app.post(
            &format!("/api/order-lines/{line_id}/dispatch"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run_id = dispatched["run_id"].as_str().expect("run id").to_owned();
    (product_id, line_id, run_id)
}

/// SIGTERM on a worker mid-turntable: it hands the job back and exits 0; kill -9 on the next
/// one: once its lease runs out a third worker takes the job and finishes it; the run's
/// deliverables are published once and notified once.
#[tokio::test]
async fn a_stopped_worker_hands_its_job_back_and_a_killed_ones_is_taken_over() {
    let c = cluster().await;
    let (_server, app) = c.server("api").await;
    let mut first = c.worker("w-a", "0.2");
    let (product_id, line_id, run_id) = dispatch_turntable(&app).await;
    let running = poll_run(&app, &run_id, Duration::from_secs(60), turntable_running).await;
    let started = running["started_at"].as_i64().expect("started");

    first.signal("-TERM");
    let status = first.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit {status}: {}", first.log());
    assert!(first.log().contains("handed back"), "{}", first.log());
    let handed = json_of(
        app.get(&format!("/api/runs/{run_id}"), &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        handed["status"], "running",
        "not final, waiting for a worker: {handed:#}"
    );

    let mut second = c.worker("w-b", "30");
    poll_run(&app, &run_id, Duration::from_secs(60), |run| {
        run["started_at"].as_i64().is_some_and(|at| at > started) && turntable_running(run)
    })
    .await;
    second.signal("-KILL");
    second.wait_exit(Duration::from_secs(10)).await;

    let _third = c.worker("w-c", "30");
    let run = finished(&app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");

    // Published once: every deliverable of the product is this run's, each name once.
    let listed = json_of(
        app.get(
            &format!("/api/products/{product_id}/deliverables"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let listed = listed["deliverables"]
        .as_array()
        .or(listed.as_array())
        .cloned()
        .expect("deliverables");
    assert!(!listed.is_empty());
    assert!(
        listed.iter().all(|d| d["run_id"] == run_id.as_str()),
        "{listed:#?}"
    );
    let mut names: Vec<&str> = listed.iter().filter_map(|d| d["name"].as_str()).collect();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "{listed:#?}");
    let notes = json_of(
        app.get(
            &format!("/api/notifications?order_line_id={line_id}"),
            &app.admin,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(notes["total"], 1, "{notes:#}");
    // One event log across the three attempts, in order, ending once.
    let events = c.store.list_events(&run_id, 0).await.expect("events");
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    let finals = events
        .iter()
        .filter(|e| e.kind == "run_status" && e.payload["status"] == "succeeded")
        .count();
    assert_eq!(finals, 1, "{events:#?}");
}

/// A run executing in a worker process is visible through an API server that did not
/// dispatch it (run JSON and SSE), and a cancel through that server reaches the worker
/// within 2 s.
#[tokio::test]
async fn cancel_and_progress_reach_a_run_in_another_process_through_any_server() {
    let c = cluster().await;
    let (_one, first) = c.server("api-1").await;
    let (two, second) = c.server("api-2").await;
    let worker = c.worker("w", "30");
    let (_, _, run_id) = dispatch_turntable(&first).await;
    let stream = {
        let request = second
            .client
            .get(format!("{}/api/runs/{run_id}/events", second.url))
            .bearer_auth(&second.debugger);
        tokio::spawn(async move {
            let response = request.send().await.expect("events");
            response.text().await.expect("stream")
        })
    };
    poll_run(&second, &run_id, Duration::from_secs(60), turntable_running).await;
    let asked = Instant::now();
    json_of(
        second
            .post(
                &format!("/api/runs/{run_id}/cancel"),
                &second.debugger,
                &json!({}),
            )
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = poll_run(&second, &run_id, Duration::from_secs(10), |run| {
        run["status"] == "cancelled"
    })
    .await;
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "cancel took {took:?}: {run:#}"
    );
    let Ok(text) = tokio::time::timeout(Duration::from_secs(10), stream).await else {
        let events = c.store.list_events(&run_id, 0).await.expect("events");
        panic!(
            "the stream did not end after the final status; events {events:#?}\nworker: {}\napi-2: {}",
            worker.log(),
            two.log()
        );
    };
    let text = text.expect("stream task");
    assert!(text.contains("event: node_status"), "{text}");
    assert!(text.contains("\"status\":\"cancelled\""), "{text}");
}

/// PostgreSQL restarts mid-run (pass 2 only: SQLite has no server to restart): the API server
/// and the worker reconnect, the run finishes, and the next dispatch runs too.
#[tokio::test]
async fn server_and_worker_carry_on_when_postgresql_restarts() {
    if test_backend() != "postgres" {
        return;
    }
    // A PostgreSQL of its own: restarting the pass's shared cluster would cut the other tests
    // running beside this one.
    let pg = OwnPostgres::start();
    let c = cluster_on(Some(pg.url.clone())).await;
    let (_server, app) = c.server("api").await;
    let _worker = c.worker("w", "30");
    let (_, line_id, run_id) = dispatch_turntable(&app).await;
    poll_run(&app, &run_id, Duration::from_secs(60), turntable_running).await;
    let restarted = tokio::process::Command::new("bash")
        .args([PG_SCRIPT, "restart"])
        .env("PG_CLUSTER_DIR", &pg.dir)
        .status()
        .await
        .expect("restart script runs");
    assert!(restarted.success(), "PostgreSQL restart failed");
    let run = finished(&app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let again = json_of(
        app.post(
            &format!("/api/order-lines/{line_id}/dispatch"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let rerun = finished(&app, again["run_id"].as_str().expect("run id")).await;
    assert_eq!(rerun["status"], "succeeded", "{rerun:#}");
}

/// Rollout auto-rollback with two API servers and a worker process: graph runs dispatched
/// through either server fail in the worker, which starts their legacy fallbacks and, after
/// the policy's number of fallbacks, rolls the output type back (all through the store).
#[tokio::test]
async fn repeated_fallbacks_in_a_worker_roll_back_whichever_server_dispatched() {
    let c = cluster().await;
    let (_one, first) = c.server("api-1").await;
    let (_two, second) = c.server("api-2").await;
    let mut processing = c.worker("w-processing", "30");
    let created = json_of(
        upload(&first, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let processed = finished(&first, created["run_id"].as_str().expect("run id")).await;
    assert_eq!(processed["status"], "succeeded", "{processed:#}");
    let product_id = created["product"]["id"].as_str().expect("id").to_owned();
    processing.signal("-TERM");
    assert!(processing
        .wait_exit(Duration::from_secs(30))
        .await
        .success());
    // This worker's render budget (enforced again when a run starts) refuses what the servers'
    // preflight let through: every render it is given fails.
    let _tight = c.spawn(
        "w-tight",
        &["worker", "--workers", "1", "--pixel-budget", "1000"],
    );
    let wf = first.create_workflow("Stills", "order_line").await;
    let ot = json_of(
        first
            .post(
                "/api/output-types",
                &first.author,
                &json!({"name": "Still graph", "workflow_family": "order_line",
                    "artifact_kind": "still", "workflow_id": wf["id"], "rollout": "graph",
                    "fallback_to_legacy": true, "legacy_settings": {}}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let policy = first
        .req(
            reqwest::Method::PUT,
            &format!("/api/output-types/{ot}/rollout/policy"),
            Some(&first.admin),
        )
        .json(&json!({"auto_rollback_fallbacks": 2}))
        .send()
        .await
        .expect("request");
    json_of(policy, StatusCode::OK).await;
    for app in [&first, &second] {
        let line = json_of(
            app.post(
                "/api/order-lines",
                &app.author,
                &json!({"product_id": product_id, "output_type_id": ot}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let d = json_of(
            app.post(
                &format!(
                    "/api/order-lines/{}/dispatch",
                    line["id"].as_str().expect("id")
                ),
                &app.debugger,
                &json!({}),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        assert_eq!(d["runs"][0]["mode"], "graph", "{d:#}");
        let run_id = d["run_id"].as_str().expect("run id");
        let graph = poll_run(app, run_id, Duration::from_secs(60), |r| {
            r["link"] == "fallback"
        })
        .await;
        assert_eq!(graph["status"], "failed", "{graph:#}");
        let fallback = finished(app, graph["linked_run_id"].as_str().expect("link")).await;
        assert_eq!(fallback["trigger"], "fallback", "{fallback:#}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = json_of(
            second
                .get(&format!("/api/output-types/{ot}"), &second.debugger)
                .await,
            StatusCode::OK,
        )
        .await;
        if now["rollout"] == "legacy" {
            break;
        }
        assert!(Instant::now() < deadline, "no automatic rollback: {now:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = json_of(
        first
            .get(
                &format!("/api/output-types/{ot}/rollout/history"),
                &first.debugger,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history[0]["automatic"], true, "{history:#}");
    assert_eq!(history[0]["to"], "legacy", "{history:#}");
}

const PG_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster.sh");

/// A throwaway PostgreSQL cluster (scripts/pg-cluster.sh), stopped and removed when dropped.
struct OwnPostgres {
    dir: String,
    url: String,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let out = Command::new("bash")
            .args([
                "-c",
                &format!(
                    "source {PG_SCRIPT} && start_pg_cluster >&2 && \
                     echo \"$PG_CLUSTER_DIR $WORKFLOW_TEST_POSTGRES\""
                ),
            ])
            .output()
            .expect("bash runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "cannot start a PostgreSQL cluster: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (dir, url) = text.trim().split_once(' ').expect("dir and url");
        OwnPostgres {
            dir: dir.to_owned(),
            url: url.to_owned(),
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args(["-c", &format!("source {PG_SCRIPT} && stop_pg_cluster")])
            .env("PG_CLUSTER_DIR", &self.dir)
            .status();
    }
}

/// Migrations run once, by the server: a worker started on a database the server has not
/// migrated exits (2) naming what is missing, and touches nothing.
#[tokio::test]
async fn a_worker_refuses_a_database_older_than_its_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = test_db_url(dir.path()).await;
    let data_dir = dir.path().to_string_lossy().into_owned();
    let log = dir.path().join("worker.log");
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(BIN)
        .args(["worker", "--db", &url, "--data-dir", &data_dir])
        .stdout(file.try_clone().expect("log file"))
        .stderr(file)
        .spawn()
        .expect("spawn workflow-server");
    let mut proc = Proc { child, log };
    let status = proc.wait_exit(Duration::from_secs(30)).await;
    assert_eq!(status.code(), Some(2), "{}", proc.log());
    let text = proc.log();
    assert!(text.contains("schema is older than this worker"), "{text}");
    assert!(text.contains("workflow-server migrate"), "{text}");
    // Nothing was migrated behind the server's back.
    let store = workflow_server::app::connect_store(&url)
        .await
        .expect("store");
    assert!(!store
        .pending_migrations()
        .await
        .expect("pending")
        .is_empty());
}

/// The golden scene-export graph (an `export.scene` node named `export`).
fn scene_export_graph() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/golden/graphs/scene_export.json"
        ))
        .expect("graph file"),
    )
    .expect("graph JSON")
}

/// The problems of a preflight report with this code.
fn problems_coded(report: &Value, code: &str) -> Vec<Value> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["code"] == code)
        .cloned()
        .collect()
}

/// A server that renders (`--workers 1`) but whose external tool is missing (`variable`
/// naming no program) refuses an export in `format` at preflight with `code`, naming the node
/// and the parameter, in a message that contains `fix` and not the bogus path; the default
/// format passes. Returns the cluster and graph for the caller's further checks.
async fn preflight_refuses_without_tool(
    variable: &str,
    format: &str,
    code: &str,
    fix: &str,
) -> (Cluster, Value) {
    let c = cluster().await;
    let graph = scene_export_graph();
    let bogus = "/nonexistent/tool";
    let (_server, app) = c.server_env("no-tool", "1", &[(variable, bogus)]).await;
    let plain = preflight_new_workflow(&app, &graph, json!({})).await;
    assert!(problems_coded(&plain, code).is_empty(), "{plain:#}");
    let report = preflight_new_workflow(&app, &graph, json!({"export.format": format})).await;
    assert_eq!(report["ok"], false, "{report:#}");
    let problems = problems_coded(&report, code);
    assert_eq!(problems.len(), 1, "{report:#}");
    assert_eq!(problems[0]["nodes"], json!(["export"]));
    assert_eq!(problems[0]["field"], "params.format");
    let message = problems[0]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!(
            "node 'export' (export.scene) writes format {format}"
        )) && message.contains(fix)
            && !message.contains(bogus),
        "{message}"
    );
    (c, graph)
}

/// Without Blender a .blend export is refused at preflight where the server renders; an API
/// server that renders nothing (`--workers 0`) leaves Blender to its workers (a worker
/// without it fails the node with blender_unavailable); a server with Blender (this test
/// machine) passes.
#[tokio::test]
async fn without_blender_preflight_names_the_node_that_needs_it() {
    let (c, graph) = preflight_refuses_without_tool(
        "WORKFLOW_BLENDER",
        "blend",
        "blender_unavailable",
        "apt-get install",
    )
    .await;
    let blend = json!({"export.format": "blend"});
    let (_api, api) = c
        .server_env(
            "api-no-blender",
            "0",
            &[("WORKFLOW_BLENDER", "/nonexistent/blender")],
        )
        .await;
    let report = preflight_new_workflow(&api, &graph, blend.clone()).await;
    assert!(
        problems_coded(&report, "blender_unavailable").is_empty(),
        "{report:#}"
    );
    let local = crate::common::spawn_app().await;
    let report = preflight_new_workflow(&local, &graph, blend).await;
    assert!(
        problems_coded(&report, "blender_unavailable").is_empty(),
        "{report:#}"
    );
}

/// Without OpenUSD's Python a USD export is refused at preflight, naming the fix but not the
/// server's path; the same graph passes on a server with OpenUSD (this test process, which
/// scripts/test gives the venv).
#[tokio::test]
async fn without_openusd_preflight_names_the_node_that_needs_it() {
    let (_c, graph) = preflight_refuses_without_tool(
        "WORKFLOW_USD_PYTHON",
        "usd",
        "usd_unavailable",
        "ensure_usd_python",
    )
    .await;
    let local = crate::common::spawn_app().await;
    let report = preflight_new_workflow(&local, &graph, json!({"export.format": "usd"})).await;
    assert!(
        problems_coded(&report, "usd_unavailable").is_empty(),
        "{report:#}"
    );
}

/// Saves `graph` as a new workflow on `app` and preflights it with `overrides`.
async fn preflight_new_workflow(app: &TestApp, graph: &Value, overrides: Value) -> Value {
    let wf = json_of(
        app.post(
            "/api/workflows",
            &app.author,
            &json!({"name": "Scene export", "graph": graph}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = wf["id"].as_str().expect("id");
    let body = json!({
        "inputs": {"order_line_id": "ol-1", "product_id": "p-1"},
        "overrides": overrides,
    });
    json_of(
        app.post(
            &format!("/api/workflows/{id}/preflight"),
            &app.author,
            &body,
        )
        .await,
        StatusCode::OK,
    )
    .await
}
