//! Load check (not a timed test): starts the embedded server on a temporary SQLite file and
//! drives it over loopback with 16 concurrent clients: 10,000 `GET /api/contracts/nodes` and
//! 1,000 workflow saves (`PUT` with `If-Match`). Prints p50/p99 latency per phase.
//!
//! `cargo run --release -p workflow-server --example load`

use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const READS: usize = 10_000;
const SAVES: usize = 1_000;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let server = workflow_server::embedded::start(dir.path()).await?;
    let client = reqwest::Client::new();
    let url = server.url.clone();
    let token = server.admin_token.clone();

    // Warm-up: the first request opens connections and pages in the database.
    client
        .get(format!("{url}/api/contracts/nodes"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;

    let reads = run_phase(CLIENTS, READS, |_, _| {
        let req = client
            .get(format!("{url}/api/contracts/nodes"))
            .bearer_auth(&token);
        async move {
            let r = req.send().await?.error_for_status()?;
            r.bytes().await?;
            Ok(())
        }
    })
    .await?;
    report("GET /api/contracts/nodes", &reads);

    // One workflow per client, so saves never conflict and every one is a real write.
    let starter: serde_json::Value = client
        .get(format!("{url}/api/contracts/starters/order_line"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let mut ids = Vec::new();
    for i in 0..CLIENTS {
        let wf: serde_json::Value = client
            .post(format!("{url}/api/workflows"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": format!("load {i}"), "graph": starter}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(wf["id"].as_str().unwrap_or_default().to_owned());
    }
    let saves = run_phase(CLIENTS, SAVES, |worker, n| {
        let body = serde_json::json!({"name": format!("load {worker} save {n}"), "graph": starter});
        // Version n+1 is current before this worker's n-th save (creation made version 1).
        let req = client
            .put(format!("{url}/api/workflows/{}", ids[worker]))
            .bearer_auth(&token)
            .header("If-Match", (n + 1).to_string())
            .json(&body);
        async move {
            req.send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    report("PUT /api/workflows/{id} (save)", &saves);

    server.shutdown().await;
    Ok(())
}

/// Runs `total` requests split over `clients` concurrent workers; `make(worker, n)` builds the
/// worker's n-th request. Returns every latency.
async fn run_phase<F, Fut>(clients: usize, total: usize, make: F) -> Result<Vec<Duration>, Error>
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let mut handles = Vec::new();
    let started = Instant::now();
    for worker in 0..clients {
        // Spread the remainder so exactly `total` requests are sent.
        let per = total / clients + usize::from(worker < total % clients);
        let jobs: Vec<Fut> = (0..per).map(|n| make(worker, n)).collect();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(jobs.len());
            for job in jobs {
                let t = Instant::now();
                job.await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for h in handles {
        all.extend(h.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} requests in {secs:.2} s ({:.0} req/s)",
        all.len(),
        all.len() as f64 / secs
    );
    Ok(all)
}

fn report(name: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let pct = |p: f64| {
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i].as_secs_f64() * 1000.0
    };
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        sorted.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}
