//! The app's side of the server: connection state, the commands that talk to the server, and
//! applying what background tasks report. Handlers translate; the server decides.

use super::StudioApp;
use crate::backend::client::{ApiClient, ClientError};
use crate::backend::{reported, Backend, BackendEvent, ServerChoice};
use crate::editor::document::WorkflowDocument;
use std::sync::Arc;
use workflow_contracts::{Family, ValidationReport};
use workflow_wire::Permission;
use workflow_wire::{Revision, Workflow};

/// Seconds after the last edit before the server re-validates the graph.
const VALIDATE_DEBOUNCE: f64 = 0.6;

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// No server: the catalog was handed to the app directly (tests, tools).
    Local,
    Connecting,
    Online {
        url: String,
    },
    /// The server cannot be reached: read-only until it answers again.
    Offline {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// How the user resolves a save that found a newer version on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictChoice {
    /// Open the server's version; the local edits go to a draft.
    ReloadTheirs,
    /// Save the local graph over the server's version.
    Overwrite,
    /// Save the local graph as a new workflow.
    SaveAsCopy,
}

pub struct ServerLink {
    pub backend: Option<Backend>,
    pub client: Option<ApiClient>,
    pub connection: Connection,
    /// The token's role and permissions, once `GET /api/me` answered (unknown: the server
    /// decides, as before).
    pub me: Option<workflow_wire::Me>,
    /// The catalog came from the on-disk cache, not the server.
    pub catalog_from_cache: bool,
    pub catalog_ready: bool,
    pub workflows: Vec<Workflow>,
    /// Draft key of the document being saved.
    pub saving: Option<String>,
    /// The server's copy after a 409, until the user chooses.
    pub conflict: Option<Box<Workflow>>,
    pub revisions: Option<(String, Vec<Revision>)>,
    validate_due: Option<(String, u64, f64)>,
    validated: Option<(String, u64)>,
}

impl ServerLink {
    /// Why the server would refuse what needs `permission` (the token's role lacks it), or
    /// `None` when it is granted or not known yet.
    pub fn refusal(&self, permission: Permission) -> Option<String> {
        let me = self.me.as_ref()?;
        (!me.permissions.contains(&permission))
            .then(|| format!("Your role ({}) may not {}", me.role, permission.action()))
    }

    pub fn local() -> Self {
        ServerLink {
            backend: None,
            client: None,
            connection: Connection::Local,
            me: None,
            catalog_from_cache: false,
            catalog_ready: true,
            workflows: Vec::new(),
            saving: None,
            conflict: None,
            revisions: None,
            validate_due: None,
            validated: None,
        }
    }
}

impl StudioApp {
    /// Talks to `choice` through `backend`; the catalog and workflows load in the background.
    pub fn with_server(
        mut self,
        mut backend: Backend,
        choice: ServerChoice,
        ctx: &egui::Context,
    ) -> Self {
        backend.set_repaint(ctx);
        backend.connect(choice);
        self.server = ServerLink {
            backend: Some(backend),
            connection: Connection::Connecting,
            catalog_ready: false,
            ..ServerLink::local()
        };
        self
    }

    /// Connects again with the current settings (after they changed).
    pub(super) fn reconnect(&mut self) {
        let Some(backend) = &self.server.backend else {
            return;
        };
        let choice = if self.state.settings.use_remote {
            ServerChoice::Remote {
                url: self.state.settings.server_url.clone(),
                token: self.state.settings.token.clone(),
                ca_cert: self.state.settings.ca_cert_path(),
            }
        } else {
            match backend.embedded_data_dir() {
                Some(dir) => ServerChoice::Embedded { data_dir: dir },
                None => return,
            }
        };
        self.server.connection = Connection::Connecting;
        self.server.client = None;
        self.server.workflows.clear();
        backend.connect(choice);
    }

    /// Validates the open graph on the server now, without waiting for the debounce.
    pub(super) fn validate_now(&mut self, now: f64) -> Result<(), String> {
        if !matches!(self.server.connection, Connection::Online { .. }) {
            return Err("Not connected: validation ran locally only".into());
        }
        self.server.validated = None;
        self.server.validate_due = self
            .editor
            .as_ref()
            .map(|e| (e.doc.draft_key.clone(), e.doc.revision, now));
        self.schedule_validation(now);
        Ok(())
    }

    /// See [`ServerLink::refusal`].
    pub fn refusal(&self, permission: Permission) -> Option<String> {
        self.server.refusal(permission)
    }

    /// True when edits cannot be saved: offline with a cached catalog.
    pub fn read_only(&self) -> bool {
        matches!(
            self.server.connection,
            Connection::Offline { .. } | Connection::Failed { .. }
        )
    }

    pub(super) fn spawn(
        &self,
        task: impl std::future::Future<Output = BackendEvent> + Send + 'static,
    ) {
        if let Some(backend) = &self.server.backend {
            backend.spawn(task);
        }
    }

    fn client(&self) -> Option<ApiClient> {
        self.server.client.clone()
    }

    pub(super) fn refresh_workflows(&self) {
        if let Some(c) = self.client() {
            self.spawn(async move {
                reported("list workflows", c.workflows(), BackendEvent::Workflows).await
            });
        }
    }

    /// Starts a new workflow from the server's starter graph (or the local one without a server).
    pub(super) fn new_workflow(&mut self, family: Family) -> bool {
        let Some(c) = self.client() else {
            return false;
        };
        self.spawn(async move {
            reported("load starter graph", c.starter(family), |graph| {
                BackendEvent::Starter { family, graph }
            })
            .await
        });
        true
    }

    pub(super) fn open_workflow(&self, id: String) {
        if let Some(c) = self.client() {
            self.spawn(async move {
                reported("open workflow", c.workflow(&id), BackendEvent::Opened).await
            });
        }
    }

    pub(super) fn duplicate_workflow(&self, id: String) {
        if let Some(c) = self.client() {
            self.spawn(async move {
                let copy = async {
                    let original = c.workflow(&id).await?;
                    c.create_workflow(&format!("{} (copy)", original.name), &original.graph)
                        .await
                };
                reported("duplicate workflow", copy, BackendEvent::Opened).await
            });
        }
    }

    pub(super) fn delete_workflow(&self, id: String, version: i64) {
        if let Some(c) = self.client() {
            self.spawn(async move {
                reported("delete workflow", c.delete_workflow(&id, version), |()| {
                    BackendEvent::Deleted(id.clone())
                })
                .await
            });
        }
    }

    pub(super) fn load_revisions(&self) {
        let (Some(c), Some(id)) = (
            self.client(),
            self.editor.as_ref().and_then(|e| e.doc.id.clone()),
        ) else {
            return;
        };
        self.spawn(async move {
            reported("load history", c.revisions(&id), |revisions| {
                BackendEvent::Revisions {
                    workflow_id: id.clone(),
                    revisions,
                }
            })
            .await
        });
    }

    pub(super) fn restore_revision(&mut self, rev: i64) -> Result<(), String> {
        let editor = self.editor.as_ref().ok_or("no workflow is open")?;
        if editor.doc.is_dirty() {
            return Err("Save or undo your changes before restoring an earlier revision".into());
        }
        let (Some(c), Some(id), Some(version)) =
            (self.client(), editor.doc.id.clone(), editor.doc.version)
        else {
            return Err("Only saved workflows have a history".into());
        };
        self.spawn(async move {
            reported(
                "restore revision",
                c.restore_revision(&id, rev, version),
                BackendEvent::Opened,
            )
            .await
        });
        Ok(())
    }

    /// Saves the open document: create when new, update with If-Match otherwise.
    pub(super) fn save(&mut self, as_copy: bool, over_version: Option<i64>) -> Result<(), String> {
        if self.read_only() {
            return Err("Offline: saving is disabled until the server answers again".into());
        }
        let c = self.client().ok_or("No server to save to")?;
        let editor = self.editor.as_ref().ok_or("No workflow is open")?;
        let doc = &editor.doc;
        let (key, revision, graph) = (doc.draft_key.clone(), doc.revision, doc.graph.clone());
        let target = match (&doc.id, over_version.or(doc.version)) {
            (Some(id), Some(version)) if !as_copy => Some((id.clone(), version)),
            _ => None,
        };
        let name = if as_copy {
            format!("{} (copy)", doc.name)
        } else {
            doc.name.clone()
        };
        self.server.saving = Some(key.clone());
        self.server.conflict = None;
        self.spawn(async move {
            let result = match target {
                Some((id, version)) => c.update_workflow(&id, version, &name, &graph).await,
                None => c.create_workflow(&name, &graph).await,
            };
            match result {
                Ok(workflow) => BackendEvent::Saved {
                    draft_key: key,
                    revision,
                    workflow,
                },
                Err(ClientError::Conflict {
                    current, message, ..
                }) => match serde_json::from_value::<Workflow>(current) {
                    Ok(current) => BackendEvent::SaveConflict {
                        draft_key: key,
                        current: Box::new(current),
                    },
                    Err(_) => BackendEvent::SaveRejected {
                        draft_key: key,
                        message,
                        errors: Vec::new(),
                    },
                },
                Err(ClientError::Rejected {
                    message, errors, ..
                }) => BackendEvent::SaveRejected {
                    draft_key: key,
                    message,
                    errors,
                },
                Err(err) => BackendEvent::SaveRejected {
                    draft_key: key,
                    message: err.to_string(),
                    errors: Vec::new(),
                },
            }
        });
        Ok(())
    }

    pub(super) fn resolve_conflict(&mut self, choice: ConflictChoice) -> Result<(), String> {
        let current = self
            .server
            .conflict
            .take()
            .ok_or("There is no conflict to resolve")?;
        match choice {
            ConflictChoice::ReloadTheirs => {
                self.open(document_of(*current));
                Ok(())
            }
            ConflictChoice::Overwrite => self.save(false, Some(current.version)),
            ConflictChoice::SaveAsCopy => self.save(true, None),
        }
    }

    /// Asks the server to validate the open graph once edits pause.
    pub(super) fn schedule_validation(&mut self, now: f64) {
        if !matches!(self.server.connection, Connection::Online { .. }) {
            return;
        }
        let Some(editor) = &self.editor else { return };
        let current = (editor.doc.draft_key.clone(), editor.doc.revision);
        if self.server.validated.as_ref() == Some(&current) {
            return;
        }
        match &self.server.validate_due {
            Some((key, rev, _)) if *key == current.0 && *rev == current.1 => {}
            _ => {
                self.server.validate_due =
                    Some((current.0.clone(), current.1, now + VALIDATE_DEBOUNCE))
            }
        }
        let Some((key, revision, due)) = self.server.validate_due.clone() else {
            return;
        };
        if now < due {
            if let Some(backend) = &self.server.backend {
                let _ = backend; // the repaint below wakes us when the debounce ends
            }
            return;
        }
        self.server.validate_due = None;
        self.server.validated = Some((key.clone(), revision));
        if let Some(c) = self.client() {
            let graph = editor.doc.graph.clone();
            self.spawn(async move {
                reported("validate", c.validate(&graph), |report| {
                    BackendEvent::Validated {
                        draft_key: key.clone(),
                        revision,
                        report,
                    }
                })
                .await
            });
        }
    }

    /// Applies everything background tasks reported since the last frame.
    pub(super) fn poll_backend(&mut self, ctx: &egui::Context) {
        let events = match &self.server.backend {
            Some(b) => b.poll(),
            None => return,
        };
        for event in events {
            self.on_event(ctx, event);
        }
        if let Some((_, _, due)) = &self.server.validate_due {
            let wait = (due - ctx.input(|i| i.time)).max(0.0);
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(wait));
        }
    }

    fn on_event(&mut self, ctx: &egui::Context, event: BackendEvent) {
        match event {
            BackendEvent::Connected(client) => {
                self.server.connection = Connection::Online {
                    url: client.base_url().to_owned(),
                };
                if let Some(b) = &self.server.backend {
                    b.load_catalog(&client);
                }
                self.spawn({
                    let client = client.clone();
                    async move { reported("who am I", client.me(), BackendEvent::Me).await }
                });
                self.server.client = Some(client);
                self.refresh_workflows();
                self.refresh_products();
                self.refresh_output_types();
            }
            BackendEvent::Me(me) => {
                self.viewer.library.can_edit = me.permissions.contains(&Permission::EditMaterials);
                self.server.me = Some(me);
            }
            BackendEvent::ConnectFailed(reason) => {
                self.status = reason.clone();
                self.server.connection = Connection::Failed { reason };
            }
            BackendEvent::Catalog {
                registry,
                from_cache,
            } => {
                self.registry = registry;
                self.server.catalog_ready = true;
                let held = std::mem::take(&mut self.after_catalog);
                self.pending.extend(held);
                self.server.catalog_from_cache = from_cache;
                if from_cache {
                    self.go_offline(
                        "the server is unreachable; showing the cached node catalog".into(),
                    );
                }
            }
            BackendEvent::Offline(reason) => self.go_offline(reason),
            BackendEvent::Online => {
                if let (Some(c), Some(b)) = (&self.server.client, &self.server.backend) {
                    self.server.connection = Connection::Online {
                        url: c.base_url().to_owned(),
                    };
                    b.load_catalog(c);
                }
                self.refresh_workflows();
                self.status = "Reconnected".into();
            }
            BackendEvent::Workflows(list) => self.server.workflows = list,
            BackendEvent::Opened(workflow) => {
                self.open(document_of(workflow));
                self.server.revisions = None;
                self.refresh_workflows();
            }
            BackendEvent::Starter { family, graph } => {
                self.open(WorkflowDocument::new(&format!("Untitled {family}"), graph));
            }
            BackendEvent::Saved {
                draft_key,
                revision,
                workflow,
            } => {
                self.server.saving = None;
                self.status = format!(
                    "Saved \"{}\" as version {}",
                    workflow.name, workflow.version
                );
                if let Some(editor) = self
                    .editor
                    .as_mut()
                    .filter(|e| e.doc.draft_key == draft_key)
                {
                    editor
                        .doc
                        .mark_saved_at(workflow.id.clone(), workflow.version, revision);
                    editor.doc.name = workflow.name.clone();
                    if !editor.doc.is_dirty() {
                        if let Some(a) = &self.autosave {
                            a.store.discard(&draft_key);
                        }
                    }
                }
                self.refresh_workflows();
            }
            BackendEvent::SaveConflict { draft_key, current } => {
                self.server.saving = None;
                if self
                    .editor
                    .as_ref()
                    .is_some_and(|e| e.doc.draft_key == draft_key)
                {
                    self.status = format!(
                        "Not saved: the server has version {} by someone else",
                        current.version
                    );
                    self.server.conflict = Some(current);
                }
            }
            BackendEvent::SaveRejected {
                draft_key,
                message,
                errors,
            } => {
                self.server.saving = None;
                self.status = format!("Not saved: {message}");
                if let Some(editor) = self
                    .editor
                    .as_mut()
                    .filter(|e| e.doc.draft_key == draft_key)
                {
                    if !errors.is_empty() {
                        editor.report = ValidationReport {
                            valid: false,
                            errors,
                        };
                    }
                }
            }
            BackendEvent::Validated {
                draft_key,
                revision,
                report,
            } => {
                if let Some(editor) = self
                    .editor
                    .as_mut()
                    .filter(|e| e.doc.draft_key == draft_key && e.doc.revision == revision)
                {
                    editor.report = report;
                }
            }
            BackendEvent::Revisions {
                workflow_id,
                revisions,
            } => {
                self.server.revisions = Some((workflow_id, revisions));
            }
            BackendEvent::Deleted(id) => {
                self.status = "Workflow deleted".into();
                if let Some(editor) = self
                    .editor
                    .as_mut()
                    .filter(|e| e.doc.id.as_deref() == Some(&id))
                {
                    // The open copy becomes new, unsaved work rather than vanishing.
                    editor.doc.id = None;
                    editor.doc.version = None;
                }
                self.refresh_workflows();
            }
            event @ (BackendEvent::Runs(_)
            | BackendEvent::RunLoaded(_)
            | BackendEvent::Preflight(_)
            | BackendEvent::Products(_)
            | BackendEvent::Dispatched(_)
            | BackendEvent::RunEvent { .. }
            | BackendEvent::RunEventsEnded(_)) => self.on_runs_event(event),
            event @ (BackendEvent::OutputTypes(_)
            | BackendEvent::OutputTypeSaved(_)
            | BackendEvent::OutputTypeRejected { .. }
            | BackendEvent::OutputTypeDeleted(_)) => self.on_output_type_event(event),
            BackendEvent::CompareRun(run) => self.on_compare_run(*run),
            BackendEvent::Artifact { id, result } => self.on_artifact(id, result),
            BackendEvent::Rollout(event) => self.on_rollout_event(event),
            BackendEvent::Notice(message) => self.status = message,
            BackendEvent::Upload(event) => self.on_upload_event(event),
            BackendEvent::UploadsPrepared { sets, problems } => {
                self.on_uploads_prepared(sets, problems)
            }
            BackendEvent::Dialog(answer) => self.on_native_dialog(ctx, answer),
            BackendEvent::Viewer(event) => self.on_viewer_event(event),
            BackendEvent::Failed { task, message } => {
                self.status = format!("Could not {task}: {message}");
                if message.starts_with("cannot reach the server") {
                    self.go_offline(message);
                }
            }
        }
    }

    fn go_offline(&mut self, reason: String) {
        if matches!(self.server.connection, Connection::Offline { .. }) {
            return;
        }
        self.server.connection = Connection::Offline { reason };
        if let (Some(b), Some(c)) = (&self.server.backend, &self.server.client) {
            b.watch_reconnect(c);
        }
    }
}

/// A saved workflow as an editor document.
pub fn document_of(workflow: Workflow) -> WorkflowDocument {
    let mut doc = WorkflowDocument::new(&workflow.name, workflow.graph);
    doc.mark_saved_at(workflow.id, workflow.version, 0);
    doc
}

/// The registry placeholder shown while the catalog loads.
pub fn empty_registry() -> Arc<workflow_contracts::Registry> {
    Arc::new(workflow_contracts::Registry::new("", Vec::new()))
}
