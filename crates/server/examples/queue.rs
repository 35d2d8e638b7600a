//! Job-queue benchmark (not a timed test).
//!
//! `overhead [DB_URL]`: the queue's own cost. Two claimers claim in a tight loop while 400 jobs
//! are enqueued 5 ms apart; prints enqueue → claimed p50/p99 (from the start of the enqueue
//! transaction to the claim's return). Default database: a SQLite file in a temporary
//! directory; pass an empty PostgreSQL database's URL for PostgreSQL.
//!
//! `stills DB_URL`: 40 order-line stills (Box.glb, 256×256) through 1, then 2,
//! `workflow-server worker` processes behind a `serve --workers 0`; prints the wall time from
//! the first dispatch to the last finished run. Needs the `workflow-server` binary of the same
//! profile (`cargo build -p workflow-server`), or `WORKFLOW_SERVER_BIN`.
//!
//! `cargo run -p workflow-server --example queue -- overhead postgres://…/empty_db`

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use workflow_server::auth::{generate_token, hash_token, Role};
use workflow_server::store::NewRun;

type Error = Box<dyn std::error::Error + Send + Sync>;

const JOBS: usize = 400;
const STILLS: usize = 40;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let url = match args.get(1) {
        Some(url) => url.clone(),
        None => workflow_server::app::sqlite_url_in(dir.path())?,
    };
    match args.first().map(String::as_str) {
        Some("overhead") => overhead(&url).await,
        Some("stills") => stills(&url, dir.path()).await,
        _ => Err("usage: queue overhead [DB_URL] | queue stills DB_URL".into()),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn overhead(url: &str) -> Result<(), Error> {
    let store = workflow_server::app::open_store(url).await?;
    let claimed: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let done = tokio_util::sync::CancellationToken::new();
    let mut claimers = Vec::new();
    for n in 0..2 {
        let (store, claimed, done) = (store.clone(), claimed.clone(), done.clone());
        claimers.push(tokio::spawn(async move {
            let owner = format!("bench/{n}");
            while !done.is_cancelled() {
                match store.claim_job(&owner, 60_000).await {
                    Ok(Some(job)) => {
                        let at = Instant::now();
                        if let Ok(mut c) = claimed.lock() {
                            c.push((job.run_id.clone(), at));
                        }
                        let _ = store.set_job_status(&job.id, "done").await;
                    }
                    Ok(None) => tokio::time::sleep(Duration::from_millis(1)).await,
                    Err(err) => eprintln!("claim: {err}"),
                }
            }
        }));
    }
    let mut enqueued = Vec::new();
    for _ in 0..JOBS {
        let start = Instant::now();
        let run = store
            .create_run(
                &NewRun {
                    mode: Some(workflow_engine::runtime::RunMode::Graph),
                    trigger: "api".into(),
                    ..NewRun::default()
                },
                true,
            )
            .await?;
        enqueued.push((run.id, start));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while claimed.lock().map(|c| c.len()).unwrap_or(0) < JOBS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done.cancel();
    for c in claimers {
        c.await?;
    }
    let claimed = claimed.lock().map(|c| c.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> = enqueued
        .iter()
        .filter_map(|(id, start)| {
            claimed
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, at)| at.saturating_duration_since(*start))
        })
        .collect();
    latencies.sort();
    println!(
        "{} jobs on {}: enqueue → claimed p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} claimed)",
        JOBS,
        url.split(':').next().unwrap_or(""),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        latencies.len()
    );
    Ok(())
}

/// Kills the child process when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server_bin() -> Result<PathBuf, Error> {
    if let Ok(bin) = std::env::var("WORKFLOW_SERVER_BIN") {
        return Ok(bin.into());
    }
    // target/<profile>/examples/queue → target/<profile>/workflow-server
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("workflow-server"))
        .ok_or("no binary directory")?;
    if !bin.exists() {
        return Err(format!("{} missing: cargo build -p workflow-server", bin.display()).into());
    }
    Ok(bin)
}

fn spawn(bin: &PathBuf, url: &str, data: &std::path::Path, args: &[&str]) -> Result<Proc, Error> {
    let log = std::fs::File::create(data.join(format!("{}.log", args.join("_"))))?;
    let data_dir = data.to_string_lossy().into_owned();
    Ok(Proc(
        Command::new(bin)
            .args(args)
            .args([
                "--db",
                url,
                "--data-dir",
                &data_dir,
                "--poll-seconds",
                "0.2",
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?,
    ))
}

async fn stills(url: &str, data: &std::path::Path) -> Result<(), Error> {
    let bin = server_bin()?;
    let store = workflow_server::app::open_store(url).await?;
    let token = generate_token();
    store
        .create_token(&hash_token(&token), Role::Admin, "bench")
        .await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = spawn(
        &bin,
        url,
        data,
        &["serve", "--addr", &addr, "--workers", "0"],
    )?;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("{base}/api/health"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let get = |path: String| {
        let req = client.get(format!("{base}{path}")).bearer_auth(&token);
        async move { req.send().await?.json::<Value>().await }
    };
    let post = |path: String, body: Value| {
        let req = client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body);
        async move { req.send().await?.json::<Value>().await }
    };
    let wait = |ids: Vec<String>| async {
        for id in ids {
            loop {
                let run = get(format!("/api/runs/{id}")).await?;
                if matches!(
                    run["status"].as_str(),
                    Some("succeeded" | "failed" | "cancelled")
                ) {
                    if run["status"] != "succeeded" {
                        return Err::<(), Error>(format!("run {id}: {run}").into());
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    };
    // The product: processed by a worker of the first phase.
    let mut workers = vec![spawn(&bin, url, data, &["worker", "--workers", "1"])?];
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixture = std::env::var("WORKFLOW_FIXTURES")
        .map(PathBuf::from)
        .ok()
        .into_iter()
        .chain([
            here.join("../../../shared/fixtures"),
            PathBuf::from("/work/shared/fixtures"),
        ])
        .find(|p| p.exists())
        .ok_or("no fixtures: set WORKFLOW_FIXTURES")?
        .join("gltf/Box.glb");
    // multipart/form-data by hand (reqwest's multipart feature is not enabled here).
    let boundary = "----workflow-bench-boundary";
    let overrides = json!({"render.thumbnail.width": 128, "render.thumbnail.height": 128});
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"overrides\"\r\n\r\n{overrides}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Box.glb\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::fs::read(&fixture)?);
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let created: Value = client
        .post(format!("{base}/api/cad-files"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    wait(vec![created["run_id"]
        .as_str()
        .ok_or("no run id")?
        .to_owned()])
    .await?;
    let product = created["product"]["id"]
        .as_str()
        .ok_or("no product")?
        .to_owned();
    let types = get("/api/output-types".into()).await?;
    let still = types
        .as_array()
        .and_then(|t| t.iter().find(|o| o["name"] == "Still 2048 white"))
        .and_then(|o| o["id"].as_str())
        .ok_or("no still output type")?
        .to_owned();
    for n in [1, 2] {
        while workers.len() < n {
            workers.push(spawn(
                &bin,
                url,
                data,
                &[
                    "worker",
                    "--workers",
                    "1",
                    "--name",
                    &format!("w{}", workers.len()),
                ],
            )?);
        }
        let mut lines = Vec::new();
        for _ in 0..STILLS {
            let line = post(
                "/api/order-lines".into(),
                json!({"product_id": product, "output_type_id": still,
                    "overrides": {"render.still.width": 256, "render.still.height": 256,
                        "output.publish.overwrite": true}}),
            )
            .await?;
            lines.push(line["id"].as_str().ok_or("no line id")?.to_owned());
        }
        let start = Instant::now();
        let mut runs = Vec::new();
        for line in &lines {
            let d = post(format!("/api/order-lines/{line}/dispatch"), json!({})).await?;
            runs.push(
                d["run_id"]
                    .as_str()
                    .ok_or(format!("dispatch: {d}"))?
                    .to_owned(),
            );
        }
        wait(runs).await?;
        let took = start.elapsed().as_secs_f64();
        println!(
            "{STILLS} order-line stills (256×256) through {n} worker process(es): {took:.1} s ({:.2} stills/s)",
            STILLS as f64 / took
        );
    }
    Ok(())
}
