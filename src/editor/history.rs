//! Undo/redo by snapshots of the document: simple, and exact for every kind of edit.

use super::document::WorkflowDocument;

/// Consecutive edits with the same key (e.g. dragging one parameter's slider) collapse into
/// one undo step.
pub type CoalesceKey = String;

const LIMIT: usize = 256;

#[derive(Default)]
pub struct History {
    undo: Vec<WorkflowDocument>,
    redo: Vec<WorkflowDocument>,
    last_key: Option<CoalesceKey>,
}

impl History {
    /// Records the state before an edit.
    pub fn record(&mut self, before: &WorkflowDocument, key: Option<CoalesceKey>) {
        let coalesce = key.is_some() && key == self.last_key;
        self.last_key = key;
        self.redo.clear();
        if coalesce {
            return;
        }
        self.undo.push(before.clone());
        if self.undo.len() > LIMIT {
            self.undo.remove(0);
        }
    }

    /// Ends coalescing, e.g. when a drag is released.
    pub fn seal(&mut self) {
        self.last_key = None;
    }

    pub fn undo(&mut self, current: &mut WorkflowDocument) -> bool {
        self.swap(current, true)
    }

    pub fn redo(&mut self, current: &mut WorkflowDocument) -> bool {
        self.swap(current, false)
    }

    fn swap(&mut self, current: &mut WorkflowDocument, undo: bool) -> bool {
        let (from, to) = if undo {
            (&mut self.undo, &mut self.redo)
        } else {
            (&mut self.redo, &mut self.undo)
        };
        let Some(mut snapshot) = from.pop() else {
            return false;
        };
        // Keep identity and server version of the live document; restore content only.
        snapshot.id = current.id.clone();
        snapshot.version = current.version;
        let revision = current.revision + 1;
        to.push(std::mem::replace(current, snapshot));
        current.revision = revision;
        self.last_key = None;
        true
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
}
