//! Network limits (issue 11): slow and oversized clients on loopback against the real server
//! with short time limits; TLS with a certificate generated here; token expiry and revocation.

use super::common::{spawn_app, BODY_LIMIT};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use workflow_server::app::{build, open_store, serve_with};
use workflow_server::auth::{generate_token, hash_token, Role};
use workflow_server::net::{tls_acceptor, ServeOptions, Timeouts};
use workflow_server::runs::RunsConfig;
use workflow_server::store::TOKEN_ID_LEN;
use workflow_server::ApiConfig;

/// Short limits, so a test waits well under a second for each.
const SHORT: Timeouts = Timeouts {
    header_read: Duration::from_millis(400),
    body_idle: Duration::from_millis(400),
    keep_alive_idle: Duration::from_millis(1200),
};

/// Generous slack for a loaded 2-core CI machine.
const SLACK: Duration = Duration::from_secs(3);

struct Server {
    addr: std::net::SocketAddr,
    admin: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(options: ServeOptions) -> Server {
        let dir = tempfile::tempdir().expect("dir");
        let store = open_store(&crate::common::test_db_url(dir.path()).await)
            .await
            .expect("store");
        let config = ApiConfig {
            body_limit: BODY_LIMIT,
            ..ApiConfig::default()
        };
        let runs = RunsConfig::new(super::modules::scripted_modules(), dir.path());
        let (router, _) = build(store.clone(), &config, runs).await.expect("build");
        let admin = generate_token();
        store
            .create_token(&hash_token(&admin), Role::Admin, "net test")
            .await
            .expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, router, options, async move {
            let _ = rx.await;
        }));
        Server {
            addr,
            admin,
            stop: Some(stop),
            task,
            _dir: dir,
        }
    }

    async fn short() -> Server {
        Server::start(ServeOptions {
            timeouts: SHORT,
            tls: None,
        })
        .await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("server task")
            .expect("server ran");
    }
}

/// Reads until the server closes the connection (or `limit` passes); returns what was read and
/// when the close came, or None when it did not come.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Instant>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(Instant::now())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, None),
        }
    }
}

/// Status code and JSON body of the first response in `raw`.
fn response_of(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b.trim()).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

fn within(elapsed: Duration, at_least: Duration, what: &str) {
    assert!(
        elapsed >= at_least.mul_f32(0.8),
        "{what}: closed after {elapsed:?}, before its limit {at_least:?}"
    );
    assert!(
        elapsed <= at_least + SLACK,
        "{what}: still open {elapsed:?} after its limit {at_least:?}"
    );
}

#[tokio::test]
async fn half_a_header_and_a_silent_connection_are_closed_after_the_header_timeout() {
    let server = Server::short().await;
    // Slow loris: a request line and one header, never the blank line.
    let mut loris = TcpStream::connect(server.addr).await.expect("connect");
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let start = Instant::now();
    loris
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let (got, closed) = read_until_closed(&mut loris, SHORT.header_read + SLACK).await;
    let closed = closed.expect("the half header's connection was not closed");
    assert!(got.is_empty(), "no answer to half a header: {got:?}");
    within(closed - start, SHORT.header_read, "half header");
    let (_, closed) = read_until_closed(&mut silent, SHORT.header_read + SLACK).await;
    let closed = closed.expect("the silent connection was not closed");
    within(closed - start, SHORT.header_read, "silent connection");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_one() {
    let server = Server::short().await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.expect("read");
    let answered = Instant::now();
    let (status, body) = response_of(&buf[..n]);
    assert_eq!(status, 200, "{body}");
    let (rest, closed) = read_until_closed(&mut stream, SHORT.keep_alive_idle + SLACK).await;
    assert!(rest.is_empty(), "{rest:?}");
    let closed = closed.expect("the idle connection was not closed");
    within(closed - answered, SHORT.keep_alive_idle, "idle keep-alive");
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_a_slow_but_steady_one_is_served() {
    let server = Server::short().await;
    let graph = serde_json::to_vec(&json!({"family": "order_line", "nodes": [], "edges": []}))
        .expect("json");
    let head = |len: usize| {
        format!(
            "POST /api/workflows/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
            server.admin
        )
    };

    // Ten bytes of a declared hundred, then silence.
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    let start = Instant::now();
    stalled
        .write_all(format!("{}{{\"family\":", head(100)).as_bytes())
        .await
        .expect("write");
    let (got, closed) = read_until_closed(&mut stalled, SHORT.body_idle + SLACK).await;
    assert!(
        closed.is_some(),
        "the stalled body's connection stayed open"
    );
    let (status, body) = response_of(&got);
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&got));
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    within(start.elapsed(), SHORT.body_idle, "stalled body");

    // The same body dripped in pieces, each pause under the limit, for longer than every
    // limit together: a request in flight is never cut by the header or idle timeouts.
    let mut steady = TcpStream::connect(server.addr).await.expect("connect");
    steady
        .write_all(head(graph.len()).as_bytes())
        .await
        .expect("write");
    let started = Instant::now();
    for piece in graph.chunks(graph.len().div_ceil(8)) {
        tokio::time::sleep(SHORT.body_idle / 2).await;
        steady.write_all(piece).await.expect("write");
    }
    let mut buf = vec![0u8; 16 * 1024];
    let n = tokio::time::timeout(SLACK, steady.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(started.elapsed() > SHORT.header_read + SHORT.body_idle);
    let (status, body) = response_of(&buf[..n]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&buf[..n]));
    assert!(body["valid"].is_boolean(), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_gets_413_at_once() {
    // Default (long) time limits: only the early refusal can answer within the slack.
    let server = Server::start(ServeOptions::default()).await;
    for (path, limit) in [
        ("/api/workflows/validate", BODY_LIMIT),
        (
            "/api/cad-files",
            workflow_server::api::products::UPLOAD_BODY_LIMIT,
        ),
    ] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let start = Instant::now();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
                     Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\nabcdefg",
                    server.admin
                )
                .as_bytes(),
            )
            .await
            .expect("write");
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(SLACK, stream.read(&mut buf))
            .await
            .expect("413 in time")
            .expect("read");
        let (status, body) = response_of(&buf[..n]);
        assert_eq!(
            status,
            413,
            "{path}: {}",
            String::from_utf8_lossy(&buf[..n])
        );
        assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
        assert_eq!(body["error"]["details"]["limit_bytes"], limit, "{body}");
        assert!(start.elapsed() < SLACK);
    }
    server.stop().await;
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files into `dir`.
pub fn write_test_certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("certificate");
    let cert_pem = certified.cert.pem();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &cert_pem).expect("write cert");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("write key");
    (cert, key, cert_pem)
}

#[tokio::test]
async fn https_with_a_generated_certificate_and_nothing_in_clear() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key, cert_pem) = write_test_certificate(dir.path());
    let acceptor = tls_acceptor(&cert, &key).expect("tls config");
    let server = Server::start(ServeOptions {
        timeouts: SHORT,
        tls: Some(acceptor),
    })
    .await;
    let port = server.addr.port();
    let trusted = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("pem"))
        .build()
        .expect("client");
    let r = trusted
        .get(format!("https://localhost:{port}/api/me"))
        .bearer_auth(&server.admin)
        .send()
        .await
        .expect("https request");
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.expect("json");
    assert_eq!(me["role"], "admin");

    // Without the certificate trusted the handshake fails; plain http gets no answer.
    let untrusted = reqwest::Client::new();
    assert!(untrusted
        .get(format!("https://localhost:{port}/api/health"))
        .send()
        .await
        .is_err());
    assert!(untrusted
        .get(format!("http://127.0.0.1:{port}/api/health"))
        .send()
        .await
        .is_err());

    // A client that never finishes its handshake is closed after the header timeout.
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    let start = Instant::now();
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    let (_, closed) = read_until_closed(&mut stalled, SHORT.header_read + SLACK).await;
    assert!(closed.is_some(), "a stalled TLS handshake stayed open");
    within(start.elapsed(), SHORT.header_read, "stalled handshake");
    server.stop().await;
}

#[tokio::test]
async fn bad_tls_files_are_named() {
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key, _) = write_test_certificate(dir.path());
    let missing = dir.path().join("nope.pem");
    let err = tls_acceptor(&missing, &key).err().expect("missing cert");
    assert!(err.to_string().contains("nope.pem"), "{err}");
    let err = tls_acceptor(&key, &key)
        .err()
        .expect("a key is no certificate");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let err = tls_acceptor(&cert, &cert).err().expect("a cert is no key");
    assert!(err.to_string().contains("private key"), "{err}");
}

#[tokio::test]
async fn tokens_expire_and_revoked_ones_are_refused_within_a_second() {
    let app = spawn_app().await;
    // Non-admins may not see or manage tokens.
    let r = app.get("/api/admin/tokens", &app.author).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let app = &app;
    let create =
        |body: Value| async move { app.post("/api/admin/tokens", &app.admin, &body).await };
    let r = create(json!({"role": "author", "label": "x", "expires_in_seconds": 0})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = create(json!({"role": "debugger", "label": "short", "expires_in_seconds": 1})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let short: Value = r.json().await.expect("json");
    let short_token = short["token"].as_str().expect("token").to_owned();
    assert!(short["expires_at"].is_i64(), "{short}");
    assert_eq!(
        app.get("/api/me", &short_token).await.status(),
        StatusCode::OK
    );

    let r = create(json!({"role": "author", "label": "laptop"})).await;
    let made: Value = r.json().await.expect("json");
    let token = made["token"].as_str().expect("token").to_owned();
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), TOKEN_ID_LEN);
    assert_eq!(id, &hash_token(&token)[..TOKEN_ID_LEN]);
    assert!(made["expires_at"].is_null());
    assert_eq!(app.get("/api/me", &token).await.status(), StatusCode::OK);

    // Revoked through the API: refused on the very next request, though it was cached.
    let r = app
        .req(
            reqwest::Method::DELETE,
            &format!("/api/admin/tokens/{id}"),
            Some(&app.admin),
        )
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), StatusCode::OK);
    let info: Value = r.json().await.expect("json");
    assert!(info["revoked_at"].is_i64(), "{info}");
    assert_eq!(
        app.get("/api/me", &token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .req(
            reqwest::Method::DELETE,
            "/api/admin/tokens/000000000000",
            Some(&app.admin),
        )
        .send()
        .await
        .expect("revoke unknown");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Revoked behind the server's back (the CLI is another process): refused within a second.
    let other = app
        .post("/api/admin/tokens", &app.admin, &json!({"role": "author"}))
        .await
        .json::<Value>()
        .await
        .expect("json");
    let other_token = other["token"].as_str().expect("token").to_owned();
    assert_eq!(
        app.get("/api/me", &other_token).await.status(),
        StatusCode::OK
    );
    app.store
        .revoke_token(other["id"].as_str().expect("id"))
        .await
        .expect("revoke in store");
    let revoked_at = Instant::now();
    loop {
        let status = app.get("/api/me", &other_token).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "a revoked token was still accepted after a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The one-second token has expired meanwhile (or does so shortly).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.get("/api/me", &short_token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let list: Value = app
        .get("/api/admin/tokens", &app.admin)
        .await
        .json()
        .await
        .expect("json");
    let tokens = list["tokens"].as_array().expect("tokens");
    let row = tokens
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("listed");
    assert_eq!(row["label"], "laptop");
    assert!(row["revoked_at"].is_i64());
    assert!(tokens.iter().all(|t| t.get("token").is_none()), "{list}");
    assert!(
        !list.to_string().contains(&token),
        "a token leaked into the list"
    );
}

#[tokio::test]
async fn cli_token_list_revoke_and_expiry() {
    let dir = tempfile::tempdir().expect("dir");
    let bin = env!("CARGO_BIN_EXE_workflow-server");
    let data = dir.path().to_str().expect("utf-8 path");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .args(["--data-dir", data])
            .output()
            .expect("run workflow-server");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, token, err) = run(&[
        "token",
        "create",
        "--role",
        "debugger",
        "--label",
        "ci",
        "--expires-in",
        "12h",
    ]);
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    let id = &hash_token(&token)[..TOKEN_ID_LEN];
    let (ok, _, err) = run(&["token", "create", "--role", "author", "--expires-in", "3w"]);
    assert!(!ok);
    assert!(err.contains("3w"), "{err}");

    let (ok, list, err) = run(&["token", "list"]);
    assert!(ok, "{err}");
    let line = list.lines().find(|l| l.starts_with(id)).expect("listed");
    assert!(line.contains("debugger") && line.ends_with("ci"), "{line}");
    assert!(!list.contains(&token), "the token itself is never listed");

    // Revoke by pasting the token; the list then shows when.
    let (ok, out, err) = run(&["token", "revoke", &token]);
    assert!(ok, "{err}");
    assert!(out.contains(id), "{out}");
    let (_, list, _) = run(&["token", "list"]);
    let line = list.lines().find(|l| l.starts_with(id)).expect("listed");
    assert!(
        line.matches("UTC").count() >= 3,
        "created, expires, revoked: {line}"
    );
    let (ok, _, err) = run(&["token", "revoke", "abcdefabcdef"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
}
