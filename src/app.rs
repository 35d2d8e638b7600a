//! The application: persisted-looking state apart from runtime handles, one `apply` for every
//! command, and the panels that make up the editor window.

use crate::command::Command;
use crate::drafts::{Draft, DraftStore};
use crate::editor::document::{AlignEdge, Clip, Edit, WorkflowDocument};
use crate::editor::{canvas, inspector, palette, Editor};
use crate::search::{rank, PortFilter};
use std::sync::Arc;
use workflow_contracts::layout::COLUMN_WIDTH;
use workflow_contracts::{starter_graph, Family, Registry};

/// Seconds a refused gesture's explanation stays next to the pointer.
const REFUSAL_SECONDS: f64 = 3.0;

/// UI state the user would expect back after a restart.
#[derive(Debug, Default)]
pub struct AppState {
    pub show_about: bool,
    pub show_help: bool,
}

/// Autosave of unsaved work to draft files.
struct Autosave {
    store: DraftStore,
    /// Seconds between the last change and the draft write.
    debounce: f64,
    /// Revision last written, and when the newest unwritten change happened.
    written: Option<(String, u64)>,
    changed_at: Option<(u64, f64)>,
}

pub struct StudioApp {
    pub state: AppState,
    /// The node catalog the app renders from.
    pub registry: Arc<Registry>,
    pub editor: Option<Editor>,
    clipboard: Option<Clip>,
    /// The last thing worth telling the user (refusals, undo with nothing to undo…).
    pub status: String,
    pending: Vec<Command>,
    autosave: Option<Autosave>,
    /// Drafts from an earlier session, offered for restore.
    pub restorable: Vec<Draft>,
}

impl StudioApp {
    pub fn new(registry: Arc<Registry>) -> Self {
        StudioApp {
            state: AppState::default(),
            registry,
            editor: None,
            clipboard: None,
            status: String::new(),
            pending: Vec::new(),
            autosave: None,
            restorable: Vec::new(),
        }
    }

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

    fn autosave(&mut self, ctx: &egui::Context) {
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
    fn keep_draft_of_current(&mut self) {
        if let (Some(autosave), Some(editor)) = (self.autosave.as_mut(), self.editor.as_ref()) {
            if editor.doc.is_dirty() {
                autosave.store.save(&editor.doc);
            }
        }
    }

    /// Opens `doc` in the editor.
    pub fn open(&mut self, doc: WorkflowDocument) {
        self.keep_draft_of_current();
        let mut editor = Editor::new(doc);
        editor.canvas.zoom_to_fit = true;
        self.editor = Some(editor);
    }

    /// Queues a command as a widget would; it is applied at the end of the frame.
    pub fn send(&mut self, command: Command) {
        self.pending.push(command);
    }

    /// The one place commands change state.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        let registry = Arc::clone(&self.registry);
        match command {
            Command::ToggleAbout => self.state.show_about = !self.state.show_about,
            Command::ToggleHelp => self.state.show_help = !self.state.show_help,
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Command::NewWorkflow(family) => {
                let graph = starter_graph(family, &registry);
                self.open(WorkflowDocument::new(&format!("Untitled {family}"), graph));
            }
            Command::RestoreDraft(key) => {
                if let Some(i) = self.restorable.iter().position(|d| d.key == key) {
                    let draft = self.restorable.remove(i);
                    self.open(draft.into_document());
                }
            }
            Command::DiscardDraft(key) => {
                self.restorable.retain(|d| d.key != key);
                if let Some(a) = &self.autosave {
                    a.store.discard(&key);
                }
            }
            command => self.apply_to_editor(ctx, command, &registry),
        }
    }

    fn apply_to_editor(&mut self, ctx: &egui::Context, command: Command, registry: &Registry) {
        let Some(editor) = self.editor.as_mut() else {
            return;
        };
        let now = ctx.input(|i| i.time);
        let edit = |editor: &mut Editor, edit: Edit, coalesce: Option<String>| {
            if let Err(err) = editor.apply_edit(&edit, coalesce, registry) {
                editor.canvas.refusal = Some((err.to_string(), now + REFUSAL_SECONDS));
                return Err(err.to_string());
            }
            Ok(())
        };
        let result = match command.clone() {
            Command::Edit { edit: e, coalesce } => edit(editor, e, coalesce),
            Command::SealHistory => {
                editor.history.seal();
                Ok(())
            }
            Command::Select(ids) => {
                editor.selection = ids;
                Ok(())
            }
            Command::SelectAll => {
                editor.selection = editor
                    .doc
                    .graph
                    .nodes
                    .iter()
                    .map(|n| n.id.clone())
                    .collect();
                Ok(())
            }
            Command::DeleteSelection if !editor.selection.is_empty() => {
                let ids = std::mem::take(&mut editor.selection);
                edit(editor, Edit::RemoveNodes(ids), None)
            }
            Command::DuplicateSelection if !editor.selection.is_empty() => {
                let clip = editor.doc.clip(&editor.selection);
                edit(
                    editor,
                    Edit::Paste {
                        clip,
                        offset: [40.0, 40.0],
                    },
                    None,
                )
            }
            Command::Copy if !editor.selection.is_empty() => {
                let clip = editor.doc.clip(&editor.selection);
                // Also as JSON text, so a graph fragment can go to another app or a bug report.
                if let Ok(json) = serde_json::to_string_pretty(&clip) {
                    ctx.copy_text(json);
                }
                self.clipboard = Some(clip);
                Ok(())
            }
            Command::Paste => match self.clipboard.clone() {
                Some(clip) => {
                    let at = editor.canvas.pointer.unwrap_or(editor.canvas.center);
                    let min = clip
                        .nodes
                        .iter()
                        .filter_map(|n| n.position)
                        .fold([f32::INFINITY; 2], |a, p| [a[0].min(p[0]), a[1].min(p[1])]);
                    let offset = if min[0].is_finite() {
                        [at.x - min[0], at.y - min[1]]
                    } else {
                        [at.x, at.y]
                    };
                    edit(editor, Edit::Paste { clip, offset }, None)
                }
                None => Err("The clipboard holds no nodes; copy some first".to_owned()),
            },
            Command::Undo => {
                if editor.undo() {
                    Ok(())
                } else {
                    Err("Nothing to undo".to_owned())
                }
            }
            Command::Redo => {
                if editor.redo() {
                    Ok(())
                } else {
                    Err("Nothing to redo".to_owned())
                }
            }
            Command::AutoLayout => {
                let only = (editor.selection.len() > 1).then(|| editor.selection.clone());
                let whole = only.is_none();
                let result = edit(editor, Edit::AutoLayout(only), None);
                editor.canvas.zoom_to_fit = whole;
                result
            }
            Command::GroupSelection if !editor.selection.is_empty() => {
                let nodes = editor.selection.clone();
                edit(
                    editor,
                    Edit::Group {
                        title: "Comment".into(),
                        nodes,
                    },
                    None,
                )
            }
            Command::AlignLeft | Command::AlignTop if editor.selection.len() > 1 => {
                let edge = if command == Command::AlignLeft {
                    AlignEdge::Left
                } else {
                    AlignEdge::Top
                };
                let nodes = editor.selection.clone();
                edit(editor, Edit::Align { nodes, edge }, None)
            }
            Command::DistributeHorizontally | Command::DistributeVertically
                if editor.selection.len() > 2 =>
            {
                let horizontal = command == Command::DistributeHorizontally;
                let nodes = editor.selection.clone();
                edit(editor, Edit::Distribute { nodes, horizontal }, None)
            }
            Command::GroupSelection
            | Command::AlignLeft
            | Command::AlignTop
            | Command::DistributeHorizontally
            | Command::DistributeVertically => Err("Select the nodes to arrange first".to_owned()),
            Command::ZoomToFit => {
                editor.canvas.zoom_to_fit = true;
                Ok(())
            }
            Command::FocusSearch => {
                editor.palette.focus_search = true;
                Ok(())
            }
            Command::InsertTopHit => {
                insert_top_hit(editor, registry).and_then(|e| edit(editor, e, None))
            }
            _ => Ok(()),
        };
        self.status = match result {
            Ok(()) => String::new(),
            Err(message) => message,
        };
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        // A focused text field owns its keys (Ctrl+Z there edits text, not the graph).
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        for command in Command::with_shortcuts() {
            if let Some(shortcut) = command.shortcut() {
                if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                    self.send(command);
                }
            }
        }
    }

    fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                for family in Family::ALL {
                    self.command_button_ui(ui, Command::NewWorkflow(family));
                }
                ui.separator();
                self.command_button_ui(ui, Command::Quit);
            });
            ui.menu_button("Edit", |ui| {
                for command in [
                    Command::Undo,
                    Command::Redo,
                    Command::Copy,
                    Command::Paste,
                    Command::DuplicateSelection,
                    Command::DeleteSelection,
                    Command::SelectAll,
                ] {
                    self.command_button_ui(ui, command);
                }
            });
            ui.menu_button("View", |ui| {
                for command in [
                    Command::AutoLayout,
                    Command::ZoomToFit,
                    Command::FocusSearch,
                ] {
                    self.command_button_ui(ui, command);
                }
            });
            ui.menu_button("Help", |ui| {
                self.command_button_ui(ui, Command::ToggleHelp);
                self.command_button_ui(ui, Command::ToggleAbout);
            });
        });
    }

    fn command_button_ui(&mut self, ui: &mut egui::Ui, command: Command) {
        let shortcut = command
            .shortcut()
            .map(|s| ui.ctx().format_shortcut(&s))
            .unwrap_or_default();
        if ui
            .add(egui::Button::new(command.label()).shortcut_text(shortcut))
            .clicked()
        {
            self.send(command);
            ui.close();
        }
    }

    fn welcome_ui(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.3);
            ui.heading("Workflow Studio");
            ui.label("Author, run and debug production render workflows.");
            ui.add_space(12.0);
            for family in Family::ALL {
                if ui.button(Command::NewWorkflow(family).label()).clicked() {
                    self.send(Command::NewWorkflow(family));
                }
            }
        });
    }

    fn status_ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            match &self.editor {
                Some(editor) => {
                    let dirty = if editor.doc.is_dirty() { " •" } else { "" };
                    ui.label(format!("{}{dirty}", editor.doc.name));
                    ui.separator();
                    let errors = editor
                        .report
                        .errors
                        .iter()
                        .filter(|e| e.severity == workflow_contracts::Severity::Error)
                        .count();
                    if errors == 0 {
                        ui.label("valid");
                    } else {
                        ui.colored_label(crate::editor::style::ERROR, format!("{errors} errors"));
                    }
                }
                None => {
                    ui.label(format!("Workflow Studio {}", env!("CARGO_PKG_VERSION")));
                }
            }
            if !self.status.is_empty() {
                ui.separator();
                ui.label(&self.status);
            }
        });
    }

    fn help_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.state.show_help;
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for command in Command::with_shortcuts() {
                        if let Some(s) = command.shortcut() {
                            ui.label(command.label());
                            ui.label(ctx.format_shortcut(&s));
                            ui.end_row();
                        }
                    }
                    for (what, how) in [
                        (
                            "Insert node",
                            "double-click or drag from the palette; right-click the canvas",
                        ),
                        ("Insert wired node", "drop a wire on empty canvas"),
                        ("Disconnect", "right-click a pin"),
                        ("Box select", "Shift+drag on the canvas"),
                    ] {
                        ui.label(what);
                        ui.label(how);
                        ui.end_row();
                    }
                });
            });
        if open != self.state.show_help {
            self.send(Command::ToggleHelp);
        }
    }

    fn about_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.state.show_about;
        egui::Window::new("About Workflow Studio")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!("Version {}", env!("CARGO_PKG_VERSION")));
                ui.label(format!("Node catalog {}", self.registry.version));
            });
        if open != self.state.show_about {
            self.send(Command::ToggleAbout);
        }
    }

    /// Draws one frame and applies what the user did in it.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.shortcuts(&ctx);
        let registry = Arc::clone(&self.registry);
        if let Some(editor) = self.editor.as_mut() {
            editor.revalidate(&registry);
        }
        egui::Panel::top("menu_bar").show(ui, |ui| self.menu_bar_ui(ui));
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_ui(ui));
        let mut out = Vec::new();
        match self.editor.as_mut() {
            Some(editor) => {
                egui::Panel::left("palette")
                    .default_size(220.0)
                    .show(ui, |ui| {
                        palette::palette_ui(ui, editor, &registry, &mut out)
                    });
                egui::Panel::right("inspector")
                    .default_size(320.0)
                    .show(ui, |ui| {
                        inspector::inspector_ui(ui, editor, &registry, &mut out)
                    });
                egui::CentralPanel::default()
                    .frame(egui::Frame::NONE)
                    .show(ui, |ui| canvas::canvas_ui(ui, editor, &registry, &mut out));
            }
            None => {
                egui::CentralPanel::default().show(ui, |ui| self.welcome_ui(ui));
            }
        }
        self.pending.extend(out);
        self.help_ui(&ctx);
        self.about_ui(&ctx);
        self.restore_ui(&ctx);
        let commands = std::mem::take(&mut self.pending);
        if !commands.is_empty() {
            // Commands are applied after drawing: draw again so the frame shows their effect.
            ctx.request_repaint();
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        self.autosave(&ctx);
    }

    fn restore_ui(&mut self, ctx: &egui::Context) {
        if self.restorable.is_empty() {
            return;
        }
        let mut out = Vec::new();
        egui::Window::new("Restore unsaved work")
            .collapsible(false)
            .show(ctx, |ui| {
                ui.label("These workflows had unsaved changes when the app last stopped:");
                for draft in &self.restorable {
                    ui.horizontal(|ui| {
                        let saved = draft
                            .workflow_id
                            .as_deref()
                            .map_or("never saved".to_owned(), |id| {
                                format!("based on {id} v{}", draft.version.unwrap_or(0))
                            });
                        ui.label(format!(
                            "{} ({} nodes, {saved})",
                            draft.name,
                            draft.graph.nodes.len()
                        ));
                        if ui.button("Restore").clicked() {
                            out.push(Command::RestoreDraft(draft.key.clone()));
                        }
                        if ui.button("Discard").clicked() {
                            out.push(Command::DiscardDraft(draft.key.clone()));
                        }
                    });
                }
            });
        self.pending.extend(out);
    }
}

/// The best palette match for the search text, placed right of the selected node and wired
/// to it when one of its outputs fits, otherwise at the cursor.
fn insert_top_hit(editor: &Editor, registry: &Registry) -> Result<Edit, String> {
    let query = editor.palette.query.trim();
    let family = editor.doc.graph.family;
    let selected = match editor.selection.as_slice() {
        [one] => editor.doc.node(one),
        _ => None,
    };
    if let Some(node) = selected {
        let outputs = registry
            .get(&node.node_type)
            .map(|d| d.output_contract.clone())
            .unwrap_or_default();
        for port in outputs {
            if let Some(def) =
                rank(registry, query, family, PortFilter::Accepts(port.port_type)).first()
            {
                let [x, y] = node.position.unwrap_or([0.0, 0.0]);
                return Ok(Edit::AddNode {
                    node_type: def.node_type.clone(),
                    position: [x + COLUMN_WIDTH, y],
                    wire_from: Some((node.id.clone(), port.name.clone())),
                    wire_to: None,
                });
            }
        }
    }
    let def = rank(registry, query, family, PortFilter::Any)
        .into_iter()
        .next()
        .ok_or_else(|| format!("No node matches \"{query}\""))?;
    let at = editor.canvas.pointer.unwrap_or(editor.canvas.center);
    Ok(Edit::AddNode {
        node_type: def.node_type.clone(),
        position: [at.x, at.y],
        wire_from: None,
        wire_to: None,
    })
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }
}
