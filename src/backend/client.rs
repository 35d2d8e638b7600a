//! The HTTP client for the workflow server: one method per endpoint the app uses, and one
//! error type that keeps what the user must see (conflicts with the server's copy, the
//! validation errors of a refused save).

use reqwest::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Map;
use serde_json::Value;
use workflow_contracts::output_type::OutputTypeSpec;
use workflow_contracts::{Family, Graph, Registry, ValidationError, ValidationReport};
// Every body the client sends or decodes is a wire type (`workflow_wire`), never a server
// record: the app depends on what it sends and receives, not on the server's storage.
pub use workflow_wire::RunPage;
use workflow_wire::{
    ChangeView, DispatchBody, Dispatched, Me, OutputTypeRecord, RerunBody, Revision, RolloutChange,
    RolloutRequest, RolloutSummary, RunRecord, Workflow, WorkflowInput,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server refused the token (401); check the token in Settings")]
    Unauthorized,
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Someone saved in between: the server's current record, so nothing is lost.
    #[error("the server has version {version} of this record")]
    Conflict {
        version: i64,
        current: Value,
        message: String,
    },
    /// 4xx with a reason: `errors` holds graph validation errors when there are any; the
    /// raw `details` carry other structured problems (e.g. output-type fields).
    #[error("{message}")]
    Rejected {
        code: String,
        message: String,
        errors: Vec<ValidationError>,
        details: Value,
    },
    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },
    /// A local file the request was to send could not be read.
    #[error("{0}")]
    Local(String),
    /// The connection cannot even be set up (an unreadable CA certificate, a bad URL).
    #[error("{0}")]
    Setup(String),
}

/// A connection to one server with one bearer token.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for ApiClient {
    // The token stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The node catalog with the ETag it was served with.
pub struct Catalog {
    pub registry: Registry,
    pub etag: Option<String>,
}

impl ApiClient {
    /// A client for `base` (http or https; https trusts the system's root certificates).
    pub fn new(base: &str, token: &str) -> Self {
        let http = Self::builder().build().unwrap_or_default();
        ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// A client for a remote server: https (rustls) trusts the system's roots and, when given,
    /// the PEM CA certificate(s) in `ca_cert` (a studio's own CA or a self-signed server).
    pub fn remote(
        base: &str,
        token: &str,
        ca_cert: Option<&std::path::Path>,
    ) -> Result<Self, ClientError> {
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ClientError::Setup(format!(
                "the server URL '{base}' must start with https:// (or http://, which sends the token in clear)"
            )));
        }
        let mut builder = Self::builder();
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                ClientError::Setup(format!(
                    "cannot read the CA certificate {}: {e}",
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ClientError::Setup(format!("{} is not a PEM certificate: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(ClientError::Setup(format!(
                    "{} holds no PEM certificate",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot set up https: {e}")))?;
        Ok(ApiClient {
            http,
            base: base.to_owned(),
            token: token.to_owned(),
        })
    }

    fn builder() -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .timeout(std::time::Duration::from_secs(30))
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        builder.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = self.send(builder).await?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| ClientError::Server {
                status: status.as_u16(),
                message: format!("unexpected response: {e}"),
            });
        }
        Err(error_from(status, &body))
    }

    /// `GET path`, the body decoded as `T`.
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn health(&self) -> Result<Value, ClientError> {
        self.get_json("/api/health").await
    }

    /// The token's role and permissions (`GET /api/me`).
    pub async fn me(&self) -> Result<Me, ClientError> {
        self.get_json("/api/me").await
    }

    /// The catalog, or `None` when `etag` is still current (304).
    pub async fn catalog(&self, etag: Option<&str>) -> Result<Option<Catalog>, ClientError> {
        let mut req = self.request(reqwest::Method::GET, "/api/contracts/nodes");
        if let Some(etag) = etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        let response = self.send(req).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if !status.is_success() {
            return Err(error_from(status, &body));
        }
        let mut registry: Registry =
            serde_json::from_slice(&body).map_err(|e| ClientError::Server {
                status: status.as_u16(),
                message: format!("unreadable node catalog: {e}"),
            })?;
        registry.reindex();
        Ok(Some(Catalog { registry, etag }))
    }

    pub async fn starter(&self, family: Family) -> Result<Graph, ClientError> {
        self.get_json(&format!("/api/contracts/starters/{family}"))
            .await
    }

    pub async fn validate(&self, graph: &Graph) -> Result<ValidationReport, ClientError> {
        self.json(
            self.request(reqwest::Method::POST, "/api/workflows/validate")
                .json(graph),
        )
        .await
    }

    pub async fn workflows(&self) -> Result<Vec<Workflow>, ClientError> {
        self.get_json("/api/workflows").await
    }

    pub async fn workflow(&self, id: &str) -> Result<Workflow, ClientError> {
        self.get_json(&format!("/api/workflows/{id}")).await
    }

    pub async fn create_workflow(
        &self,
        name: &str,
        graph: &Graph,
    ) -> Result<Workflow, ClientError> {
        let body = workflow_input(name, graph);
        self.json(
            self.request(reqwest::Method::POST, "/api/workflows")
                .json(&body),
        )
        .await
    }

    /// Saves over `version`; a 409 comes back as [`ClientError::Conflict`].
    pub async fn update_workflow(
        &self,
        id: &str,
        version: i64,
        name: &str,
        graph: &Graph,
    ) -> Result<Workflow, ClientError> {
        let body = workflow_input(name, graph);
        let req = self
            .request(reqwest::Method::PUT, &format!("/api/workflows/{id}"))
            .header(header::IF_MATCH, version.to_string())
            .json(&body);
        self.json(req).await
    }

    pub async fn delete_workflow(&self, id: &str, version: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/workflows/{id}"), version).await
    }

    async fn delete(&self, path: &str, version: i64) -> Result<(), ClientError> {
        let req = self
            .request(reqwest::Method::DELETE, path)
            .header(header::IF_MATCH, version.to_string());
        let response = self.send(req).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(error_from(status, &body))
    }

    pub async fn output_types(&self) -> Result<Vec<OutputTypeRecord>, ClientError> {
        self.get_json("/api/output-types").await
    }

    pub async fn create_output_type(
        &self,
        spec: &OutputTypeSpec,
    ) -> Result<OutputTypeRecord, ClientError> {
        self.json(
            self.request(reqwest::Method::POST, "/api/output-types")
                .json(spec),
        )
        .await
    }

    pub async fn update_output_type(
        &self,
        id: &str,
        version: i64,
        spec: &OutputTypeSpec,
    ) -> Result<OutputTypeRecord, ClientError> {
        let req = self
            .request(reqwest::Method::PUT, &format!("/api/output-types/{id}"))
            .header(header::IF_MATCH, version.to_string())
            .json(spec);
        self.json(req).await
    }

    pub async fn delete_output_type(&self, id: &str, version: i64) -> Result<(), ClientError> {
        self.delete(&format!("/api/output-types/{id}"), version)
            .await
    }

    /// A page of runs, newest first; `filter` holds `status`, `mode`, `workflow_id`… values.
    pub async fn runs(
        &self,
        filter: &[(&str, String)],
        limit: i64,
        offset: i64,
    ) -> Result<RunPage, ClientError> {
        let mut query: Vec<(&str, String)> = filter.to_vec();
        query.push(("limit", limit.to_string()));
        query.push(("offset", offset.to_string()));
        self.json(
            self.request(reqwest::Method::GET, "/api/runs")
                .query(&query),
        )
        .await
    }

    pub async fn run(&self, id: &str) -> Result<RunRecord, ClientError> {
        self.get_json(&format!("/api/runs/{id}")).await
    }

    /// Every output type with its rollout state, readiness and latest change.
    pub async fn rollout_dashboard(&self) -> Result<Vec<RolloutSummary>, ClientError> {
        self.get_json("/api/rollout").await
    }

    /// An output type's rollout changes, newest first.
    pub async fn rollout_history(
        &self,
        output_type: &str,
    ) -> Result<Vec<RolloutChange>, ClientError> {
        self.get_json(&format!("/api/output-types/{output_type}/rollout/history"))
            .await
    }

    /// Moves an output type's rollout; the recorded change.
    pub async fn change_rollout(
        &self,
        output_type: &str,
        target: workflow_contracts::output_type::Rollout,
        reason: Option<&str>,
        force: bool,
    ) -> Result<RolloutChange, ClientError> {
        let body = RolloutRequest {
            target,
            reason: reason.map(str::to_owned),
            force,
        };
        let answer: ChangeView = self
            .json(
                self.request(
                    reqwest::Method::POST,
                    &format!("/api/output-types/{output_type}/rollout"),
                )
                .json(&body),
            )
            .await?;
        Ok(answer.change)
    }

    /// An artifact's bytes and media type.
    pub async fn artifact(&self, id: &str) -> Result<(Vec<u8>, String), ClientError> {
        let response = self
            .send(self.request(reqwest::Method::GET, &format!("/api/artifacts/{id}")))
            .await?;
        let status = response.status();
        let media_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if status.is_success() {
            Ok((body.to_vec(), media_type))
        } else {
            Err(error_from(status, &body))
        }
    }

    /// Products, newest first (`GET /api/products`).
    pub async fn products(&self) -> Result<Vec<Value>, ClientError> {
        let page: Value = self.get_json("/api/products").await?;
        Ok(match page {
            Value::Array(items) => items,
            Value::Object(mut o) => match o.remove("products") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
    }

    /// One product with its manifest and artifact URLs (`GET /api/products/{id}`).
    pub async fn product(&self, id: &str) -> Result<Value, ClientError> {
        self.get_json(&format!("/api/products/{id}")).await
    }

    /// Uploads `set` as a new product (`POST /api/cad-files`), streaming each file from disk;
    /// `on_progress` gets the bytes sent so far. Answers the server's `{product, run_id}`.
    pub async fn upload_product(
        &self,
        set: &super::upload::UploadSet,
        on_progress: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<Value, ClientError> {
        use tokio_stream::StreamExt as _;
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let on_progress = std::sync::Arc::new(on_progress);
        let mut form = reqwest::multipart::Form::new();
        for (name, path) in &set.files {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| ClientError::Local(format!("{name}: {e}")))?;
            let len = file
                .metadata()
                .await
                .map_err(|e| ClientError::Local(format!("{name}: {e}")))?
                .len();
            let (sent, on_progress) = (sent.clone(), on_progress.clone());
            let stream = tokio_util::io::ReaderStream::new(file).map(move |chunk| {
                if let Ok(bytes) = &chunk {
                    let total = sent
                        .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed)
                        + bytes.len() as u64;
                    on_progress(total);
                }
                chunk
            });
            let part = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::wrap_stream(stream),
                len,
            )
            .file_name(name.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| ClientError::Local(e.to_string()))?;
            form = form.part("file", part);
        }
        form = form.text("main", set.main.clone());
        // A large upload over a slow link takes longer than the client's usual 30 s.
        let request = self
            .request(reqwest::Method::POST, "/api/cad-files")
            .timeout(std::time::Duration::from_secs(3600))
            .multipart(form);
        self.json(request).await
    }

    /// A product's processed preview GLB (`GET /api/products/{id}/glb`).
    pub async fn product_glb(&self, id: &str) -> Result<Vec<u8>, ClientError> {
        let response = self
            .send(self.request(reqwest::Method::GET, &format!("/api/products/{id}/glb")))
            .await?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(error_from(status, &body))
        }
    }

    /// The material library (`GET /api/materials`): every material with its `source`.
    pub async fn materials(&self) -> Result<Vec<Value>, ClientError> {
        let page: Value = self.get_json("/api/materials").await?;
        Ok(match page {
            Value::Object(mut o) => match o.remove("materials") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// Adds a material to the library (`POST /api/materials`).
    pub async fn create_material(&self, body: &Value) -> Result<Value, ClientError> {
        self.json(
            self.request(reqwest::Method::POST, "/api/materials")
                .json(body),
        )
        .await
    }

    /// Creates or replaces a user material (`PUT /api/materials/{name}`).
    pub async fn put_material(&self, name: &str, body: &Value) -> Result<Value, ClientError> {
        self.json(
            self.request(reqwest::Method::PUT, &format!("/api/materials/{name}"))
                .json(body),
        )
        .await
    }

    /// A product's material map and its version (from the `ETag`).
    pub async fn material_map(&self, product_id: &str) -> Result<(Value, i64), ClientError> {
        let req = self.request(
            reqwest::Method::GET,
            &format!("/api/products/{product_id}/material-map"),
        );
        self.versioned(req).await
    }

    /// Replaces a product's material map over `version` (`If-Match`); a stale version comes
    /// back as [`ClientError::Conflict`]. Answers the stored map and its new version.
    pub async fn put_material_map(
        &self,
        product_id: &str,
        version: i64,
        map: &Value,
    ) -> Result<(Value, i64), ClientError> {
        let req = self
            .request(
                reqwest::Method::PUT,
                &format!("/api/products/{product_id}/material-map"),
            )
            .header(header::IF_MATCH, version.to_string())
            .json(map);
        self.versioned(req).await
    }

    /// Starts a run of a workflow with inputs and parameter overrides; answers the run id.
    pub async fn dispatch_workflow_with(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        self.start_workflow_run(id, "dispatch", inputs, overrides)
            .await
    }

    /// Starts a preview run of an order_line workflow (`/api/workflows/{id}/preview`): it
    /// renders like a dispatch but publishes nothing and queues no notification.
    pub async fn preview_workflow(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        self.start_workflow_run(id, "preview", inputs, overrides)
            .await
    }

    async fn start_workflow_run(
        &self,
        id: &str,
        verb: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        let body = dispatch_body(inputs, overrides);
        let started: Dispatched = self
            .json(
                self.request(
                    reqwest::Method::POST,
                    &format!("/api/workflows/{id}/{verb}"),
                )
                .json(&body),
            )
            .await?;
        Ok(started.run_id)
    }

    /// A JSON body with the version its `ETag` names.
    async fn versioned(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(Value, i64), ClientError> {
        let response = self.send(builder).await?;
        let status = response.status();
        let version = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|t| {
                t.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .to_owned()
            })
            .and_then(|t| t.parse::<i64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if !status.is_success() {
            return Err(error_from(status, &body));
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| ClientError::Server {
            status: status.as_u16(),
            message: format!("unexpected response: {e}"),
        })?;
        let version = version.ok_or_else(|| ClientError::Server {
            status: status.as_u16(),
            message: "the answer has no ETag version".into(),
        })?;
        Ok((value, version))
    }

    /// `POST {path}` with dispatch inputs and overrides: preflight and dispatch share it.
    async fn post_run_body<T: DeserializeOwned>(
        &self,
        path: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<T, ClientError> {
        let body = dispatch_body(inputs, overrides);
        self.json(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }

    /// Preflight of a workflow with dispatch inputs: `{ok, runs, problems}`.
    pub async fn preflight_workflow(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<Value, ClientError> {
        self.post_run_body(&format!("/api/workflows/{id}/preflight"), inputs, overrides)
            .await
    }

    /// Starts a run of a workflow; answers the new run's id.
    pub async fn dispatch_workflow(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        let started: Dispatched = self
            .post_run_body(&format!("/api/workflows/{id}/dispatch"), inputs, overrides)
            .await?;
        Ok(started.run_id)
    }

    /// Preflight of an output type (every path its rollout would run): `{ok, runs, problems}`.
    pub async fn preflight_output_type(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<Value, ClientError> {
        self.post_run_body(
            &format!("/api/output-types/{id}/preflight"),
            inputs,
            overrides,
        )
        .await
    }

    /// Dispatches an output type as its rollout says; answers the authoritative run's id.
    pub async fn dispatch_output_type(
        &self,
        id: &str,
        inputs: &Map<String, Value>,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        let started: Dispatched = self
            .post_run_body(
                &format!("/api/output-types/{id}/dispatch"),
                inputs,
                overrides,
            )
            .await?;
        Ok(started.run_id)
    }

    /// Dispatches a stored order line (its product, output type and overrides).
    pub async fn dispatch_order_line(&self, id: &str) -> Result<String, ClientError> {
        let started: Dispatched = self
            .json(self.request(
                reqwest::Method::POST,
                &format!("/api/order-lines/{id}/dispatch"),
            ))
            .await?;
        Ok(started.run_id)
    }

    /// Follows a run's server-sent events until the stream ends (the run finished) or the
    /// connection drops; `on_event` gets each event's kind and JSON data.
    pub async fn follow_run_events(
        &self,
        id: &str,
        mut on_event: impl FnMut(&str, Value) + Send,
    ) -> Result<(), ClientError> {
        let mut response = self
            .send(self.request(reqwest::Method::GET, &format!("/api/runs/{id}/events")))
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.bytes().await.unwrap_or_default();
            return Err(error_from(status, &body));
        }
        let mut buffer = String::new();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| ClientError::Unreachable {
                    url: self.base.clone(),
                    reason: e.to_string(),
                })?;
            let Some(chunk) = chunk else { return Ok(()) };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line; keep a trailing partial event for the next chunk.
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut kind = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                on_event(&kind, serde_json::from_str(&data).unwrap_or(Value::Null));
            }
        }
    }

    pub async fn cancel_run(&self, id: &str) -> Result<RunRecord, ClientError> {
        self.json(self.request(reqwest::Method::POST, &format!("/api/runs/{id}/cancel")))
            .await
    }

    /// Runs a run again, optionally with parameter overrides (`<node id>.<param>`).
    pub async fn rerun(
        &self,
        id: &str,
        overrides: &Map<String, Value>,
    ) -> Result<String, ClientError> {
        let body = RerunBody {
            overrides: overrides.clone(),
        };
        let started: Dispatched = self
            .json(
                self.request(reqwest::Method::POST, &format!("/api/runs/{id}/rerun"))
                    .json(&body),
            )
            .await?;
        Ok(started.run_id)
    }

    pub async fn revisions(&self, id: &str) -> Result<Vec<Revision>, ClientError> {
        self.get_json(&format!("/api/workflows/{id}/revisions"))
            .await
    }

    pub async fn restore_revision(
        &self,
        id: &str,
        rev: i64,
        version: i64,
    ) -> Result<Workflow, ClientError> {
        let req = self
            .request(
                reqwest::Method::POST,
                &format!("/api/workflows/{id}/revisions/{rev}/restore"),
            )
            .header(header::IF_MATCH, version.to_string());
        self.json(req).await
    }
}

/// The body of a workflow create or update.
fn workflow_input(name: &str, graph: &Graph) -> WorkflowInput {
    WorkflowInput {
        name: name.to_owned(),
        graph: graph.clone(),
    }
}

/// The body of a preflight or dispatch.
fn dispatch_body(inputs: &Map<String, Value>, overrides: &Map<String, Value>) -> DispatchBody {
    DispatchBody {
        inputs: inputs.clone(),
        overrides: overrides.clone(),
    }
}

/// Maps the server's `{"error": {code, message, details}}` body to a [`ClientError`].
fn error_from(status: StatusCode, body: &[u8]) -> ClientError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let code = error["code"].as_str().unwrap_or("unknown").to_owned();
    let message = error["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    let details = &error["details"];
    match status {
        StatusCode::UNAUTHORIZED => ClientError::Unauthorized,
        StatusCode::FORBIDDEN => ClientError::Forbidden(message),
        StatusCode::NOT_FOUND => ClientError::NotFound(message),
        StatusCode::CONFLICT => match details["current_version"].as_i64() {
            Some(version) => ClientError::Conflict {
                version,
                current: details["current"].clone(),
                message,
            },
            // A 409 without a newer copy: e.g. a workflow still used by output types.
            None => ClientError::Rejected {
                code,
                message,
                errors: Vec::new(),
                details: details.clone(),
            },
        },
        StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::BAD_REQUEST
        | StatusCode::PAYLOAD_TOO_LARGE => ClientError::Rejected {
            code,
            message,
            errors: serde_json::from_value(details["errors"].clone()).unwrap_or_default(),
            details: details.clone(),
        },
        _ => ClientError::Server {
            status: status.as_u16(),
            message,
        },
    }
}
