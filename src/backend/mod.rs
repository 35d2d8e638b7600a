//! Everything the app does over the network or disk runs here, on a Tokio runtime of its own,
//! and reports back as [`BackendEvent`]s through a channel; the UI thread never waits. Each
//! finished task asks egui for a repaint so its result shows at once.

pub mod catalog_cache;
pub mod client;
pub mod upload;

use client::{ApiClient, ClientError};
use std::future::Future;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use workflow_contracts::output_type::OutputTypeProblem;
use workflow_contracts::{Family, Graph, Registry, ValidationError, ValidationReport};
use workflow_server::embedded::BackgroundServer;
use workflow_wire::{OutputTypeRecord, Revision, RunRecord, Workflow};

/// Which server the app talks to.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerChoice {
    /// Started in-process on loopback, data in `data_dir`.
    Embedded { data_dir: PathBuf },
    Remote {
        url: String,
        token: String,
        /// A PEM CA certificate trusted besides the system's roots.
        ca_cert: Option<PathBuf>,
    },
}

/// What a background task reports.
#[derive(Debug)]
pub enum BackendEvent {
    Connected(ApiClient),
    /// The token's role and permissions.
    Me(workflow_wire::Me),
    ConnectFailed(String),
    Catalog {
        registry: Arc<Registry>,
        from_cache: bool,
    },
    /// The server cannot be reached; the app is read-only until [`BackendEvent::Online`].
    Offline(String),
    Online,
    Workflows(Vec<Workflow>),
    Opened(Workflow),
    Starter {
        family: Family,
        graph: Graph,
    },
    Saved {
        draft_key: String,
        revision: u64,
        workflow: Workflow,
    },
    SaveConflict {
        draft_key: String,
        current: Box<Workflow>,
    },
    SaveRejected {
        draft_key: String,
        message: String,
        errors: Vec<ValidationError>,
    },
    Validated {
        draft_key: String,
        revision: u64,
        report: ValidationReport,
    },
    Revisions {
        workflow_id: String,
        revisions: Vec<Revision>,
    },
    Deleted(String),
    OutputTypes(Vec<OutputTypeRecord>),
    OutputTypeSaved(OutputTypeRecord),
    OutputTypeRejected {
        message: String,
        problems: Vec<OutputTypeProblem>,
    },
    OutputTypeDeleted(String),
    Runs(client::RunPage),
    RunLoaded(Box<RunRecord>),
    Preflight(serde_json::Value),
    Products(Vec<serde_json::Value>),
    Dispatched(String),
    /// A live event of a run (node status change, log line, artifact), from its SSE stream.
    RunEvent {
        run_id: String,
        kind: String,
    },
    /// The run's event stream ended (the run finished or the connection dropped).
    RunEventsEnded(String),
    /// One of the two runs of a comparison.
    CompareRun(Box<RunRecord>),
    /// An artifact fetched and decoded (or why not).
    Artifact {
        id: String,
        result: Result<Arc<crate::app::LoadedArtifact>, String>,
    },
    /// Rollout dashboard answers (see `app::rollout`).
    Rollout(crate::app::RolloutEvent),
    /// A viewer task finished (model loaded, map saved, preview rendered…).
    Viewer(crate::viewer::ViewerEvent),
    /// Progress of a product upload ("Add product…", a dropped file).
    Upload(upload::UploadEvent),
    /// The uploads chosen or dropped files make, and why the others are not uploaded.
    UploadsPrepared {
        sets: Vec<upload::UploadSet>,
        problems: Vec<String>,
    },
    /// A native file dialog closed (see `app::file_dialogs`).
    Dialog(crate::app::file_dialogs::NativeAnswer),
    /// Something finished that the user should hear about (a file saved…).
    Notice(String),
    Failed {
        task: &'static str,
        message: String,
    },
}

/// Sends a background task's events to the UI and wakes it.
#[derive(Clone)]
pub struct Reporter {
    sender: mpsc::Sender<BackendEvent>,
    repaint: Option<egui::Context>,
}

impl Reporter {
    pub fn send(&self, event: BackendEvent) {
        let _ = self.sender.send(event);
        if let Some(ctx) = &self.repaint {
            ctx.request_repaint();
        }
    }
}

pub struct Backend {
    runtime: tokio::runtime::Runtime,
    events: mpsc::Receiver<BackendEvent>,
    sender: mpsc::Sender<BackendEvent>,
    repaint: Option<egui::Context>,
    /// Kept alive for the app's lifetime; dropped on the UI thread at exit.
    embedded: Arc<std::sync::Mutex<Option<BackgroundServer>>>,
    embedded_dir: std::sync::Mutex<Option<PathBuf>>,
    pub cache_dir: Option<PathBuf>,
}

impl Backend {
    pub fn new(cache_dir: Option<PathBuf>) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("studio-backend")
            .enable_all()
            .build()?;
        let (sender, events) = mpsc::channel();
        Ok(Backend {
            runtime,
            events,
            sender,
            repaint: None,
            embedded: Arc::new(std::sync::Mutex::new(None)),
            embedded_dir: std::sync::Mutex::new(None),
            cache_dir,
        })
    }

    /// Results of finished tasks wake the UI through this context.
    pub fn set_repaint(&mut self, ctx: &egui::Context) {
        self.repaint = Some(ctx.clone());
    }

    /// Runs `task` in the background; its event reaches [`Backend::poll`].
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = BackendEvent> + Send + 'static,
    {
        let sender = self.sender.clone();
        let repaint = self.repaint.clone();
        self.runtime.spawn(async move {
            let event = task.await;
            let _ = sender.send(event);
            if let Some(ctx) = repaint {
                ctx.request_repaint();
            }
        });
    }

    /// Runs `task` in the background with a [`Reporter`] for the several events it sends
    /// as it goes (live run events, upload progress).
    pub fn spawn_reporting<F, Fut>(&self, task: F)
    where
        F: FnOnce(Reporter) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let reporter = Reporter {
            sender: self.sender.clone(),
            repaint: self.repaint.clone(),
        };
        self.runtime.spawn(task(reporter));
    }

    /// Follows a run's event stream, reporting each event as it arrives.
    pub fn follow_run(&self, client: &ApiClient, run_id: String) {
        let client = client.clone();
        self.spawn_reporting(|report| async move {
            let id = run_id.clone();
            let _ = client
                .follow_run_events(&run_id, |kind, _data| {
                    report.send(BackendEvent::RunEvent {
                        run_id: id.clone(),
                        kind: kind.to_owned(),
                    });
                })
                .await;
            report.send(BackendEvent::RunEventsEnded(run_id));
        });
    }

    /// Uploads `set` as a new product and follows its processing.
    pub fn upload_product(&self, client: &ApiClient, set: upload::UploadSet, id: u64) {
        let client = client.clone();
        self.spawn_reporting(|report| {
            upload::upload_and_follow(client, set, id, move |event| {
                report.send(BackendEvent::Upload(event))
            })
        });
    }

    /// Events reported since the last call.
    pub fn poll(&self) -> Vec<BackendEvent> {
        self.events.try_iter().collect()
    }

    /// Connects: starts the embedded server on a thread of its own (it owns a runtime, which
    /// must not be created inside ours), or uses the remote URL.
    pub fn connect(&self, choice: ServerChoice) {
        match choice {
            ServerChoice::Remote {
                url,
                token,
                ca_cert,
            } => {
                let event = match ApiClient::remote(&url, &token, ca_cert.as_deref()) {
                    Ok(client) => BackendEvent::Connected(client),
                    Err(err) => BackendEvent::ConnectFailed(err.to_string()),
                };
                let _ = self.sender.send(event);
            }
            ServerChoice::Embedded { data_dir } => {
                if let Ok(mut dir) = self.embedded_dir.lock() {
                    *dir = Some(data_dir.clone());
                }
                // Already running (switching back from a remote server): reuse it.
                let running = self.embedded.lock().ok().and_then(|slot| {
                    slot.as_ref()
                        .map(|s| ApiClient::new(&s.url, &s.admin_token))
                });
                if let Some(client) = running {
                    let _ = self.sender.send(BackendEvent::Connected(client));
                    return;
                }
                let sender = self.sender.clone();
                let repaint = self.repaint.clone();
                let slot = Arc::clone(&self.embedded);
                let spawned =
                    std::thread::Builder::new()
                        .name("embedded-server-start".into())
                        .spawn(move || {
                            let event =
                                match workflow_server::embedded::start_in_background_with_sample(
                                    &data_dir,
                                ) {
                                    Ok(server) => {
                                        let client =
                                            ApiClient::new(&server.url, &server.admin_token);
                                        if let Ok(mut slot) = slot.lock() {
                                            *slot = Some(server);
                                        }
                                        BackendEvent::Connected(client)
                                    }
                                    Err(err) => BackendEvent::ConnectFailed(format!(
                                        "the embedded server did not start ({}): {err}",
                                        data_dir.display()
                                    )),
                                };
                            let _ = sender.send(event);
                            if let Some(ctx) = repaint {
                                ctx.request_repaint();
                            }
                        });
                if let Err(err) = spawned {
                    let _ = self
                        .sender
                        .send(BackendEvent::ConnectFailed(err.to_string()));
                }
            }
        }
    }

    /// Where the embedded server keeps its data, once it was asked for.
    pub fn embedded_data_dir(&self) -> Option<PathBuf> {
        self.embedded_dir.lock().ok().and_then(|d| d.clone())
    }

    /// Fetches the catalog (revalidating the cached copy by ETag) and the workflow list; when
    /// the server is unreachable, the cached catalog is served and the app goes read-only.
    pub fn load_catalog(&self, client: &ApiClient) {
        let client = client.clone();
        let cache = self.cache_dir.clone();
        self.spawn(async move {
            let cached = match &cache {
                Some(dir) => catalog_cache::read(dir).await,
                None => None,
            };
            let etag = cached.as_ref().and_then(|c| c.etag.clone());
            match client.catalog(etag.as_deref()).await {
                Ok(Some(fresh)) => {
                    if let Some(dir) = &cache {
                        catalog_cache::write(dir, &fresh).await;
                    }
                    BackendEvent::Catalog {
                        registry: Arc::new(fresh.registry),
                        from_cache: false,
                    }
                }
                Ok(None) => match cached {
                    Some(c) => BackendEvent::Catalog {
                        registry: Arc::new(c.registry),
                        from_cache: false,
                    },
                    None => BackendEvent::Failed {
                        task: "catalog",
                        message: "the server answered 304 but no cached catalog exists".into(),
                    },
                },
                Err(err @ ClientError::Unreachable { .. }) => match cached {
                    Some(c) => {
                        let _ = err;
                        BackendEvent::Catalog {
                            registry: Arc::new(c.registry),
                            from_cache: true,
                        }
                    }
                    None => BackendEvent::Offline(err.to_string()),
                },
                Err(err) => BackendEvent::Failed {
                    task: "catalog",
                    message: err.to_string(),
                },
            }
        });
    }

    /// Polls the server until it answers, then reports [`BackendEvent::Online`].
    pub fn watch_reconnect(&self, client: &ApiClient) {
        let client = client.clone();
        self.spawn(async move {
            loop {
                if client.health().await.is_ok() {
                    return BackendEvent::Online;
                }
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            }
        });
    }
}

/// Wraps a fallible task: errors become [`BackendEvent::Failed`] named after the task.
pub async fn reported<T, F>(
    task: &'static str,
    fut: F,
    ok: impl FnOnce(T) -> BackendEvent,
) -> BackendEvent
where
    F: Future<Output = Result<T, ClientError>>,
{
    match fut.await {
        Ok(v) => ok(v),
        Err(err) => BackendEvent::Failed {
            task,
            message: err.to_string(),
        },
    }
}
