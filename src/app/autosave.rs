//! Autosave of unsaved work to draft files (see [`crate::drafts`]).

use super::StudioApp;
use crate::drafts::DraftStore;

/// Autosave of unsaved work to draft files.
pub(super) struct Autosave {
    pub(super) store: DraftStore,
    /// Seconds between the last change and the draft write.
    debounce: f64,
    /// Revision last written, and when the newest unwritten change happened.
    written: Option<(String, u64)>,
    changed_at: Option<(u64, f64)>,
}

impl StudioApp {
    /// Keeps unsaved work in `store`, written `debounce_seconds` after the last change, and
    /// offers the drafts an earlier session left behind.
    pub fn with_drafts(mut self, store: DraftStore, debounce_seconds: f64) -> Self {
        self.restorable = store.load_all();
        self.autosave = Some(Autosave {
            store,
            debounce: debounce_seconds,
            written: None,
            changed_at: None,
        });
        self
    }

    /// Waits for pending draft writes (tests and shutdown).
    pub fn flush_drafts(&self) {
        if let Some(a) = &self.autosave {
            a.store.flush();
        }
    }

    pub(super) fn autosave(&mut self, ctx: &egui::Context) {
        let (Some(autosave), Some(editor)) = (self.autosave.as_mut(), self.editor.as_ref()) else {
            return;
        };
        let doc = &editor.doc;
        let current = (doc.draft_key.clone(), doc.revision);
        if !doc.is_dirty() || autosave.written.as_ref() == Some(&current) {
            autosave.changed_at = None;
            return;
        }
        let now = ctx.input(|i| i.time);
        let changed_at = match autosave.changed_at {
            Some((revision, at)) if revision == doc.revision => at,
            _ => {
                autosave.changed_at = Some((doc.revision, now));
                now
            }
        };
        let due = changed_at + autosave.debounce;
        if now >= due {
            autosave.store.save(doc);
            autosave.written = Some(current);
            autosave.changed_at = None;
        } else {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(due - now));
        }
    }

    /// Before a document is replaced: its unsaved edits go to its draft at once.
    pub(super) fn keep_draft_of_current(&mut self) {
        if let (Some(autosave), Some(editor)) = (self.autosave.as_mut(), self.editor.as_ref()) {
            if editor.doc.is_dirty() {
                autosave.store.save(&editor.doc);
            }
        }
    }
}
