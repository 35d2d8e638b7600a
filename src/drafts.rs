//! Unsaved work survives crashes: every open document is written to a draft file shortly
//! after each change (by a background thread, never the UI thread), deleted when the work is
//! saved or discarded, and offered back at the next start.

use crate::editor::document::WorkflowDocument;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use workflow_contracts::Graph;

/// What a draft file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub key: String,
    pub name: String,
    /// Server id and version the edits were based on, when the workflow had been saved.
    pub workflow_id: Option<String>,
    pub version: Option<i64>,
    pub graph: Graph,
    /// Seconds since the Unix epoch.
    pub saved_at: u64,
}

impl Draft {
    pub fn of(doc: &WorkflowDocument) -> Self {
        Draft {
            key: doc.draft_key.clone(),
            name: doc.name.clone(),
            workflow_id: doc.id.clone(),
            version: doc.version,
            graph: doc.graph.clone(),
            saved_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// The document as it was, marked unsaved.
    pub fn into_document(self) -> WorkflowDocument {
        let mut doc = WorkflowDocument::new(&self.name, self.graph);
        doc.id = self.workflow_id;
        doc.version = self.version;
        doc.draft_key = self.key;
        doc.revision = 1;
        doc
    }
}

enum Job {
    Write(Box<Draft>),
    Delete(String),
    Flush(mpsc::Sender<()>),
}

/// Draft files in one directory, written by a named background thread.
pub struct DraftStore {
    dir: PathBuf,
    jobs: mpsc::Sender<Job>,
}

impl DraftStore {
    /// Drafts in `dir` (created when missing).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let worker_dir = dir.to_path_buf();
        std::thread::Builder::new()
            .name("draft-writer".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Write(draft) => {
                            if let Err(err) = write_draft(&worker_dir, &draft) {
                                eprintln!("warning: could not write draft {}: {err}", draft.key);
                            }
                        }
                        Job::Delete(key) => {
                            let _ = std::fs::remove_file(draft_path(&worker_dir, &key));
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(DraftStore {
            dir: dir.to_path_buf(),
            jobs,
        })
    }

    pub fn save(&self, doc: &WorkflowDocument) {
        let _ = self.jobs.send(Job::Write(Box::new(Draft::of(doc))));
    }

    pub fn discard(&self, key: &str) {
        let _ = self.jobs.send(Job::Delete(key.to_owned()));
    }

    /// Waits until every queued write and delete is on disk (tests, shutdown).
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.jobs.send(Job::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Drafts left by an earlier session, newest first. Unreadable files are skipped.
    pub fn load_all(&self) -> Vec<Draft> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut drafts: Vec<Draft> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect();
        drafts.sort_by_key(|d| std::cmp::Reverse(d.saved_at));
        drafts
    }
}

fn draft_path(dir: &Path, key: &str) -> PathBuf {
    // The key may hold a server's workflow id: one file name inside `dir`, whatever it holds.
    dir.join(format!(
        "{}.json",
        workflow_engine::file_name::file_part(key)
    ))
}

/// Writes through a temporary file and a rename, so a crash mid-write never leaves a torn
/// draft behind.
fn write_draft(dir: &Path, draft: &Draft) -> std::io::Result<()> {
    let path = draft_path(dir, &draft.key);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(draft)?)?;
    std::fs::rename(&tmp, &path)
}
