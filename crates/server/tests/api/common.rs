//! `spawn_app()`: the real server on 127.0.0.1:0 over a temporary database, with one token per
//! role, driven through reqwest. The database is a SQLite file in the test's directory, or,
//! with `WORKFLOW_TEST_DATABASE=postgres`, a fresh database on the PostgreSQL cluster that
//! `WORKFLOW_TEST_POSTGRES` names (scripts/test starts one and runs this binary both ways).

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use workflow_engine::runtime::ModuleRegistry;
use workflow_server::app::{build, open_store, serve, sqlite_url_in};
use workflow_server::auth::{generate_token, hash_token, Role};
use workflow_server::runs::RunsConfig;
use workflow_server::store::Store;
use workflow_server::ApiConfig;

/// Small so the 413 test needs no large payload.
pub const BODY_LIMIT: usize = 256 * 1024;

pub struct TestApp {
    pub url: String,
    pub client: Client,
    pub admin: String,
    pub author: String,
    pub debugger: String,
    pub material_specialist: String,
    pub store: Arc<dyn Store>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    // Declared last: dropped after the server that uses it.
    pub dir: Arc<TempDir>,
}

/// The backend this run of the tests uses.
pub fn test_backend() -> &'static str {
    match std::env::var("WORKFLOW_TEST_DATABASE").as_deref() {
        Ok("postgres") => "postgres",
        Ok("sqlite") | Err(_) => "sqlite",
        Ok(other) => panic!("WORKFLOW_TEST_DATABASE={other}: use sqlite or postgres"),
    }
}

/// The database URL for a test directory: the same database every time for the same
/// directory, so a restarted server finds its data (the PostgreSQL database's name is kept in
/// the directory).
pub async fn test_db_url(dir: &Path) -> String {
    if test_backend() == "sqlite" {
        return sqlite_url_in(dir).expect("db url");
    }
    let kept = dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&kept) {
        return url;
    }
    let url = fresh_postgres_database().await;
    std::fs::write(&kept, &url).expect("keep database url");
    url
}

/// Creates an empty database on the test cluster and returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = std::env::var("WORKFLOW_TEST_POSTGRES").expect(
        "WORKFLOW_TEST_DATABASE=postgres needs WORKFLOW_TEST_POSTGRES=postgres://USER@HOST:PORT/DB \
         (scripts/test starts a throwaway cluster and sets both)",
    );
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (base, _) = admin.rsplit_once('/').expect("database in the URL");
    format!("{base}/{name}")
}

/// The artifact store of this pass for a test directory: with `WORKFLOW_TEST_S3` (the
/// endpoint of the S3-compatible server scripts/s3-server.sh starts; the `AWS_*` variables it
/// exports reach the client), a fresh bucket per directory, the same one again when a server
/// restarts on it; without it, None (the data directory, as a server defaults to).
pub async fn test_artifacts(dir: &Path) -> Option<workflow_server::artifacts::Blobs> {
    let spec = test_artifacts_spec(dir).await?;
    Some(workflow_server::artifacts::open(Some(&spec), dir).expect("open the S3 artifact store"))
}

/// The `--artifacts` value of [`test_artifacts`] (`s3://BUCKET/studio`), for server processes.
pub async fn test_artifacts_spec(dir: &Path) -> Option<String> {
    let endpoint = std::env::var("WORKFLOW_TEST_S3").ok()?;
    let kept = dir.join("test-bucket");
    let bucket = match std::fs::read_to_string(&kept) {
        Ok(bucket) => bucket,
        Err(_) => {
            let bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
            // The test server takes an unsigned CreateBucket (object_store makes no buckets).
            Client::new()
                .put(format!("{}/{bucket}", endpoint.trim_end_matches('/')))
                .send()
                .await
                .expect("reach the S3 test server")
                .error_for_status()
                .expect("create test bucket");
            std::fs::write(&kept, &bucket).expect("keep bucket name");
            bucket
        }
    };
    Some(format!("s3://{bucket}/studio"))
}

/// A new token per role (admin, author, debugger, material specialist), stored in `store`.
pub async fn role_tokens(store: &dyn Store) -> [String; 4] {
    let mut tokens: [String; 4] = Default::default();
    for (slot, role) in tokens.iter_mut().zip([
        Role::Admin,
        Role::Author,
        Role::Debugger,
        Role::MaterialSpecialist,
    ]) {
        *slot = generate_token();
        store
            .create_token(&hash_token(slot), role, "test")
            .await
            .expect("token");
    }
    tokens
}

pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_in(dir, None).await
}

/// A server whose runs use `modules` instead of the scripted test modules.
pub async fn spawn_app_with(modules: ModuleRegistry) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_full(dir, None, modules).await
}

/// A server with the scripted test modules and `workers` run workers.
pub async fn spawn_app_with_workers(workers: usize) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut runs = RunsConfig::new(super::modules::scripted_modules(), dir.path());
    runs.workers = workers;
    spawn_app_runs(dir, None, runs).await
}

/// Starts a server on an existing data directory (tokens from `previous` stay valid: they are
/// in the database).
pub async fn spawn_app_in(dir: Arc<TempDir>, previous: Option<[String; 4]>) -> TestApp {
    spawn_app_full(dir, previous, super::modules::scripted_modules()).await
}

/// A server with the production wiring (`RunsConfig::production`: the engine's real modules).
pub async fn spawn_app_production() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let runs = RunsConfig::production(dir.path());
    spawn_app_runs(dir, None, runs).await
}

async fn spawn_app_full(
    dir: Arc<TempDir>,
    previous: Option<[String; 4]>,
    modules: ModuleRegistry,
) -> TestApp {
    let runs = RunsConfig::new(modules, dir.path());
    spawn_app_runs(dir, previous, runs).await
}

/// A server with this run configuration (budgets, workers, modules).
pub async fn spawn_app_runs(
    dir: Arc<TempDir>,
    previous: Option<[String; 4]>,
    mut runs: RunsConfig,
) -> TestApp {
    if let Some(artifacts) = test_artifacts(dir.path()).await {
        runs.set_artifacts(artifacts);
    }
    let db_url = test_db_url(dir.path()).await;
    let store = open_store(&db_url).await.expect("open store");
    let config = ApiConfig {
        body_limit: BODY_LIMIT,
        debug_panic_route: true,
    };
    let (router, _) = build(store.clone(), &config, runs)
        .await
        .expect("build app");
    let tokens = match previous {
        Some(t) => t,
        None => role_tokens(store.as_ref()).await,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, async move {
        let _ = rx.await;
    }));
    let [admin, author, debugger, material_specialist] = tokens;
    TestApp {
        url: format!("http://{addr}"),
        client: Client::new(),
        admin,
        author,
        debugger,
        material_specialist,
        store,
        shutdown: Some(tx),
        task,
        dir,
    }
}

impl TestApp {
    /// A handle on a server running in another process (tests/api/workers.rs): the same
    /// request helpers, nothing to stop here.
    pub fn remote(
        url: String,
        tokens: [String; 4],
        store: Arc<dyn Store>,
        dir: Arc<TempDir>,
    ) -> TestApp {
        let [admin, author, debugger, material_specialist] = tokens;
        TestApp {
            url,
            client: Client::new(),
            admin,
            author,
            debugger,
            material_specialist,
            store,
            shutdown: None,
            task: tokio::spawn(async { Ok(()) }),
            dir,
        }
    }

    pub fn tokens(&self) -> [String; 4] {
        [
            self.admin.clone(),
            self.author.clone(),
            self.debugger.clone(),
            self.material_specialist.clone(),
        ]
    }

    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) -> (Arc<TempDir>, [String; 4]) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let tokens = self.tokens();
        (&mut self.task)
            .await
            .expect("server task")
            .expect("server ran");
        (self.dir.clone(), tokens)
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let b = self.client.request(method, format!("{}{path}", self.url));
        match token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.req(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.req(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, token: &str, version: i64, body: &Value) -> Response {
        self.req(Method::PUT, path, Some(token))
            .header("If-Match", version.to_string())
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str, version: i64) -> Response {
        self.req(Method::DELETE, path, Some(token))
            .header("If-Match", version.to_string())
            .send()
            .await
            .expect("request")
    }

    /// A starter graph of `family` fetched from the server.
    pub async fn starter(&self, family: &str) -> Value {
        json_of(
            self.get(&format!("/api/contracts/starters/{family}"), &self.author)
                .await,
            StatusCode::OK,
        )
        .await
    }

    /// Creates a workflow from the starter of `family`; returns its JSON.
    pub async fn create_workflow(&self, name: &str, family: &str) -> Value {
        let graph = self.starter(family).await;
        let body = serde_json::json!({"name": name, "graph": graph});
        json_of(
            self.post("/api/workflows", &self.author, &body).await,
            StatusCode::CREATED,
        )
        .await
    }
}

/// Asserts the status and returns the JSON body (printing it when the status differs).
pub async fn json_of(response: Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, expected, "body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts an error response: status, our body shape, and the code.
pub async fn error_of(response: Response, expected: StatusCode, code: &str) -> Value {
    let body = json_of(response, expected).await;
    assert_eq!(body["error"]["code"], code, "{body:#}");
    assert!(body["error"]["message"].is_string(), "{body:#}");
    body
}

/// Polls `GET /api/runs/{id}` until the run is final (10 s at most); returns it.
pub async fn wait_final(app: &TestApp, run_id: &str) -> Value {
    wait_for(app, run_id, |run| {
        matches!(
            run["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        )
    })
    .await
}

/// Polls `GET /api/runs/{id}` until `done(run)` (10 s at most); returns it.
pub async fn wait_for(app: &TestApp, run_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
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
            std::time::Instant::now() < deadline,
            "run {run_id} did not get there: {run:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
