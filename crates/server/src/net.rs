//! The listener: our own accept loop on hyper, so that every connection is bounded in time.
//!
//! - **Header read**: a connection must finish a request head within `header_read_timeout`
//!   of its first byte (or of being accepted); a slow-loris client is closed.
//! - **Keep-alive idle**: a connection with no request in flight and no byte received for
//!   `keep_alive_idle` is closed.
//! - **Body idle**: a request body that sends nothing for `body_idle_timeout` fails; the
//!   request is answered `408 request_timeout` and the connection closed.
//! - **TLS** (optional): rustls; the handshake counts against the header-read timeout.
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits, so it
//! cannot tell "idle" from "half a header"; the watchdog here can, because it sees when a
//! request starts and when its response ends.

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::error::ApiError;

/// Time limits of every connection. [`Default`] is what `workflow-server serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From a connection's first byte of a request head (or its accept) to the end of the head.
    pub header_read: Duration,
    /// Longest pause between two chunks of a request body.
    pub body_idle: Duration,
    /// How long a connection may wait, with nothing in flight, for its next request.
    pub keep_alive_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(30),
            keep_alive_idle: Duration::from_secs(60),
        }
    }
}

/// How to serve: time limits and, for https, the TLS acceptor.
#[derive(Clone, Default)]
pub struct ServeOptions {
    pub timeouts: Timeouts,
    pub tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("timeouts", &self.timeouts)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate file {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("the TLS certificate file {0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    #[error("cannot read the TLS private key file {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the TLS certificate and key do not make a usable configuration: {0}")]
    Config(String),
}

/// A TLS acceptor for the PEM certificate chain in `cert` and the PEM private key in `key`.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error = |message: String| TlsError::Certificate {
        path: cert.to_path_buf(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_path_buf(),
        message: e.to_string(),
    })?;
    // ring explicitly: the provider reqwest also uses, so no process-wide default is needed.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(
                        stream,
                        router.clone(),
                        options.clone(),
                        stop_rx.clone(),
                    ));
                }
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    router: Router,
    options: ServeOptions,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let timeouts = options.timeouts;
    match options.tls {
        None => drive(stream, router, timeouts, activity, stop).await,
        Some(acceptor) => {
            match tokio::time::timeout(timeouts.header_read, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => drive(tls, router, timeouts, activity, stop).await,
                Ok(Err(err)) => tracing::debug!(%err, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

/// Runs hyper on one connection beside the watchdog that closes it when a limit passes.
async fn drive<S>(
    stream: S,
    router: Router,
    timeouts: Timeouts,
    activity: Arc<Activity>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = InFlight::start(service_activity.clone());
        let timed_out = Arc::new(AtomicBool::new(false));
        let request =
            request.map(|body| IdleTimeoutBody::new(body, timeouts.body_idle, &timed_out));
        let router = router.clone();
        async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // Whatever the handler made of a failed body read, the cause was the client's pause.
            let response = if timed_out.load(Ordering::Relaxed) {
                ApiError::BodyTimeout {
                    seconds: timeouts.body_idle.as_secs_f64(),
                }
                .into_response()
            } else {
                response
            };
            Ok::<_, Infallible>(response.map(|inner| Guarded {
                inner,
                _guard: guard,
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our watchdog owns the header timeout (hyper's would also cut idle keep-alives).
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let tick = (timeouts.header_read.min(timeouts.keep_alive_idle) / 8)
        .clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep(tick) => {
                if let Some(why) = activity.expired(&timeouts) {
                    // Dropping the connection closes the socket; nothing is in flight.
                    tracing::debug!(why, "closing connection");
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What the watchdog knows about one connection.
struct Activity {
    state: Mutex<ActivityState>,
}

struct ActivityState {
    /// Requests whose response has not been fully sent.
    in_flight: usize,
    /// When the head now being read began (a fresh connection counts as begun).
    head_started: Option<Instant>,
    /// When the last response ended.
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                head_started: Some(now),
                idle_since: now,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut ActivityState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    fn bytes_read(&self) {
        self.with(|s| {
            if s.in_flight == 0 && s.head_started.is_none() {
                s.head_started = Some(Instant::now());
            }
        });
    }

    /// Why the connection must close now, if it must.
    fn expired(&self, timeouts: &Timeouts) -> Option<&'static str> {
        self.with(|s| {
            if s.in_flight > 0 {
                return None;
            }
            match s.head_started {
                Some(t) if t.elapsed() >= timeouts.header_read => Some("header read timeout"),
                Some(_) => None,
                None if s.idle_since.elapsed() >= timeouts.keep_alive_idle => {
                    Some("keep-alive idle timeout")
                }
                None => None,
            }
        })
    }
}

/// A request in flight from its parsed head until its response body is dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.with(|s| {
            s.in_flight += 1;
            s.head_started = None;
        });
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.with(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.idle_since = Instant::now();
        });
    }
}

/// The connection's byte stream, telling the watchdog when bytes arrive.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body that keeps its request counted as in flight until it is dropped.
struct Guarded {
    inner: Body,
    _guard: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The body pause was longer than the limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
struct BodyIdle(Duration);

/// A request body that fails when the client pauses longer than `timeout` between chunks.
struct IdleTimeoutBody {
    inner: Incoming,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
    timed_out: Arc<AtomicBool>,
}

impl IdleTimeoutBody {
    fn new(inner: Incoming, timeout: Duration, timed_out: &Arc<AtomicBool>) -> Self {
        IdleTimeoutBody {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            armed: false,
            timed_out: timed_out.clone(),
        }
    }
}

impl hyper::body::Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if !this.armed {
            let deadline = tokio::time::Instant::now() + this.timeout;
            this.sleep.as_mut().reset(deadline);
            this.armed = true;
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyIdle(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The upload route (`POST`), whose limit is `products::UPLOAD_BODY_LIMIT`.
const UPLOAD_PATH: &str = "/api/cad-files";

/// Answers `413 payload_too_large` before any body is read when the declared `Content-Length`
/// is over the route's limit: the upload route's own, everyone else's `general` one.
pub async fn refuse_declared_oversize(
    axum::extract::State(general): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit =
        if request.method() == axum::http::Method::POST && request.uri().path() == UPLOAD_PATH {
            crate::api::products::UPLOAD_BODY_LIMIT
        } else {
            general
        };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            ApiError::PayloadTooLarge { limit }.into_response()
        }
        _ => next.run(request).await,
    }
}
