//! The graph editor: the open document, its history and selection, and the views over it
//! (canvas, palette, inspector). Views read the editor and send commands; only
//! [`crate::app::StudioApp::apply`] changes it.

pub mod canvas;
pub mod document;
pub mod history;
pub mod inspector;
pub mod overview;
pub mod palette;
pub mod param_widget;
pub mod style;

use document::{Edit, EditError, EditOutcome, WorkflowDocument};
use history::History;
use workflow_contracts::{validate, Registry, ValidationError, ValidationReport};

pub struct Editor {
    pub doc: WorkflowDocument,
    pub history: History,
    /// Selected node ids, in selection order.
    pub selection: Vec<String>,
    pub report: ValidationReport,
    report_revision: Option<u64>,
    pub canvas: canvas::CanvasView,
    pub palette: palette::PaletteState,
    /// Node statuses of the run this graph was opened from (colours the canvas).
    pub run_status: std::collections::HashMap<String, workflow_engine::runtime::NodeStatus>,
    /// Parameters that run overrode, (node id, param) → the graph's own value (`None`: the
    /// default); the inspector marks them.
    pub run_overrides: std::collections::BTreeMap<(String, String), Option<serde_json::Value>>,
}

impl Editor {
    pub fn new(doc: WorkflowDocument) -> Self {
        Editor {
            doc,
            history: History::default(),
            selection: Vec::new(),
            report: ValidationReport {
                valid: true,
                errors: Vec::new(),
            },
            report_revision: None,
            canvas: canvas::CanvasView::default(),
            palette: palette::PaletteState::default(),
            run_status: std::collections::HashMap::new(),
            run_overrides: std::collections::BTreeMap::new(),
        }
    }

    /// Applies an edit and records it for undo when it changed something.
    pub fn apply_edit(
        &mut self,
        edit: &Edit,
        coalesce: Option<String>,
        registry: &Registry,
    ) -> Result<EditOutcome, EditError> {
        let before = self.doc.clone();
        let outcome = self.doc.apply(edit, registry)?;
        if self.doc.revision != before.revision {
            self.history.record(&before, coalesce);
        }
        if !outcome.created.is_empty() {
            self.selection = outcome.created.clone();
        }
        self.forget_missing_selection();
        Ok(outcome)
    }

    pub fn undo(&mut self) -> bool {
        let done = self.history.undo(&mut self.doc);
        self.forget_missing_selection();
        done
    }

    pub fn redo(&mut self) -> bool {
        let done = self.history.redo(&mut self.doc);
        self.forget_missing_selection();
        done
    }

    fn forget_missing_selection(&mut self) {
        let graph = &self.doc.graph;
        self.selection.retain(|id| graph.node(id).is_some());
    }

    /// Re-validates when the document changed since the last report. Validation is linear
    /// and takes well under a millisecond for hand-sized graphs, so it runs on every edit.
    pub fn revalidate(&mut self, registry: &Registry) {
        if self.report_revision != Some(self.doc.revision) {
            self.report = validate(&self.doc.graph, registry);
            self.report_revision = Some(self.doc.revision);
        }
    }

    pub fn problems_for<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a ValidationError> {
        self.report
            .errors
            .iter()
            .filter(move |e| e.nodes.iter().any(|n| n == node))
    }

    pub fn is_selected(&self, node: &str) -> bool {
        self.selection.iter().any(|s| s == node)
    }
}
