//! The app's HTTP client against the real server over https (issue 11): a certificate made
//! here with rcgen, trusted through the client's CA option (`--ca-cert`); refused without it.

use tokio::sync::oneshot;
use workflow_server::app::{build, open_store, serve_with, sqlite_url_in};
use workflow_server::auth::{generate_token, hash_token, Role};
use workflow_server::net::{tls_acceptor, ServeOptions};
use workflow_server::runs::RunsConfig;
use workflow_server::ApiConfig;
use workflow_studio::backend::client::{ApiClient, ClientError};

#[test]
fn the_app_client_talks_https_with_a_given_ca_and_refuses_an_unknown_one() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("dir");
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("certificate");
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server.key");
        std::fs::write(&cert, certified.cert.pem()).expect("cert");
        std::fs::write(&key, certified.key_pair.serialize_pem()).expect("key");

        let store = open_store(&sqlite_url_in(dir.path()).expect("url"))
            .await
            .expect("store");
        let runs = RunsConfig::new(crate::support::scripted_modules(), dir.path());
        let (router, _) = build(store.clone(), &ApiConfig::default(), runs)
            .await
            .expect("build");
        let token = generate_token();
        store
            .create_token(&hash_token(&token), Role::Author, "tls test")
            .await
            .expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let options = ServeOptions {
            tls: Some(tls_acceptor(&cert, &key).expect("tls")),
            ..ServeOptions::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, router, options, async move {
            let _ = stopped.await;
        }));
        let url = format!("https://localhost:{port}");

        let client = ApiClient::remote(&url, &token, Some(&cert)).expect("client");
        let health = client.health().await.expect("health over https");
        assert_eq!(health["status"], "ok");
        let me = client.me().await.expect("me over https");
        assert_eq!(me.role, Role::Author);

        // The system's roots do not know this certificate: a clear connection error.
        let stranger = ApiClient::remote(&url, &token, None).expect("client");
        let err = stranger.health().await.expect_err("untrusted certificate");
        assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");

        // A CA file that is missing or not PEM is named before anything is sent.
        let missing = dir.path().join("missing-ca.pem");
        let err = ApiClient::remote(&url, &token, Some(&missing)).expect_err("missing CA");
        assert!(err.to_string().contains("missing-ca.pem"), "{err}");
        let err = ApiClient::remote(&url, &token, Some(&key)).expect_err("a key is no CA");
        assert!(err.to_string().contains("server.key"), "{err}");
        let err = ApiClient::remote("ftp://host", &token, None).expect_err("scheme");
        assert!(err.to_string().contains("https://"), "{err}");

        let _ = stop.send(());
        task.await.expect("server task").expect("server ran");
    });
}

/// The app refuses a token on its command line and names what is missing or unreadable,
/// before any window opens.
#[test]
fn the_token_never_comes_from_the_command_line() {
    let home = tempfile::tempdir().expect("home");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_workflow-studio"))
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env_remove("WORKFLOW_TOKEN")
            .output()
            .expect("run workflow-studio");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--server", "https://studio:8470", "--token", "wst_secret"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--token-file") && err.contains("WORKFLOW_TOKEN"),
        "{err}"
    );
    let (code, err) = run(&["--server", "https://studio:8470"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs a token"), "{err}");
    let missing = home.path().join("no-token");
    let (code, err) = run(&[
        "--server",
        "https://studio:8470",
        "--token-file",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no-token"), "{err}");
}
