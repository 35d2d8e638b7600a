//! The window's fixed parts: menu bar, welcome screen, status bar and dialogs.

use super::server_sync::{ConflictChoice, Connection, ServerLink};
use super::{LeftTab, MainView, StudioApp};
use crate::command::Command;
use crate::editor::style::{dot_ui, ERROR, ONLINE, WARNING};
use crate::editor::Editor;
use crate::settings::Theme;
use egui::{RichText, Ui};
use workflow_contracts::Family;

impl StudioApp {
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
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
        if self.state.view == MainView::Editor {
            if let Some(editor) = self.editor.as_mut() {
                editor.canvas.add_node_shortcut(ctx);
            }
        }
    }

    pub(super) fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                for family in Family::ALL {
                    self.command_button_ui(ui, Command::NewWorkflow(family));
                }
                ui.separator();
                self.command_button_ui(ui, Command::Save);
                self.command_button_ui(ui, Command::SaveAsCopy);
                self.command_button_ui(ui, Command::ValidateNow);
                ui.separator();
                self.command_button_ui(ui, Command::AddProduct);
                ui.separator();
                self.command_button_ui(ui, Command::ToggleSettings);
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
            ui.separator();
            for view in [
                MainView::Editor,
                MainView::OutputTypes,
                MainView::Runs,
                MainView::Rollout,
                MainView::Viewer,
            ] {
                let command = Command::ShowView(view);
                if ui
                    .selectable_label(self.state.view == view, command.label())
                    .clicked()
                {
                    self.send(command);
                }
            }
        });
    }

    pub(super) fn command_button_ui(&mut self, ui: &mut egui::Ui, command: Command) {
        let shortcut = command
            .shortcut()
            .map(|s| ui.ctx().format_shortcut(&s))
            .unwrap_or_default();
        let refusal = command.permission().and_then(|p| self.refusal(p));
        let response = ui.add_enabled(
            refusal.is_none(),
            egui::Button::new(command.label()).shortcut_text(shortcut),
        );
        if let Some(reason) = refusal {
            response.on_disabled_hover_text(reason);
        } else if response.clicked() {
            self.send(command);
            ui.close();
        }
    }

    pub(super) fn welcome_ui(&mut self, ui: &mut egui::Ui) {
        let mut out = Vec::new();
        ui.vertical_centered(|ui| {
            ui.add_space(ui.available_height() * 0.2);
            ui.heading("Workflow Studio");
            ui.label("Author, run and debug production render workflows.");
            ui.add_space(12.0);
            if !self.server.catalog_ready {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading the node catalog…");
                });
                return;
            }
            for family in Family::ALL {
                if ui.button(Command::NewWorkflow(family).label()).clicked() {
                    out.push(Command::NewWorkflow(family));
                }
            }
            if self.server.client.is_some() {
                ui.add_space(16.0);
                let width = 420.0_f32.min(ui.available_width());
                ui.allocate_ui_with_layout(
                    egui::vec2(width, ui.available_height()),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| workflows_ui(ui, &self.server, &mut out),
                );
            }
        });
        self.pending.extend(out);
    }

    pub(super) fn delete_prompt_ui(&mut self, ctx: &egui::Context) {
        let Some((_, version, name)) = &self.state.pending_delete else {
            return;
        };
        let mut out = Vec::new();
        egui::Modal::new(egui::Id::new("confirm_delete")).show(ctx, |ui| {
            ui.heading("Delete workflow?");
            ui.label(format!(
                "\"{name}\" (version {version}) and its revision history will be deleted."
            ));
            ui.horizontal(|ui| {
                if ui.button("Delete").clicked() {
                    out.push(Command::ConfirmDelete);
                }
                if ui.button("Cancel").clicked() {
                    out.push(Command::CancelDelete);
                }
            });
        });
        self.pending.extend(out);
    }

    pub(super) fn settings_ui(&mut self, ctx: &egui::Context) {
        let Some(edit) = self.state.settings_edit.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        let mut open = true;
        egui::Window::new("Settings")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                ui.label(RichText::new("Server").strong());
                ui.radio_value(
                    &mut edit.use_remote,
                    false,
                    "Embedded (this computer, data in the app's data folder)",
                );
                ui.radio_value(&mut edit.use_remote, true, "Remote server");
                ui.add_enabled_ui(edit.use_remote, |ui| {
                    egui::Grid::new("server_settings")
                        .num_columns(2)
                        .show(ui, |ui| {
                            ui.label("URL");
                            ui.add(
                                egui::TextEdit::singleline(&mut edit.server_url)
                                    .hint_text("https://host:8470"),
                            );
                            ui.end_row();
                            ui.label("Token");
                            ui.add(egui::TextEdit::singleline(&mut edit.token).password(true));
                            ui.end_row();
                            ui.label("CA certificate");
                            ui.add(
                                egui::TextEdit::singleline(&mut edit.ca_cert)
                                    .hint_text("PEM file (optional: system roots otherwise)"),
                            )
                            .on_hover_text(
                                "Trust this CA (or a self-signed server certificate) for https",
                            );
                            ui.end_row();
                        });
                });
                ui.separator();
                ui.label(RichText::new("Theme").strong());
                ui.horizontal(|ui| {
                    for (theme, label) in [
                        (Theme::Dark, "Dark"),
                        (Theme::Light, "Light"),
                        (Theme::System, "System"),
                    ] {
                        ui.radio_value(&mut edit.theme, theme, label);
                    }
                });
                ui.separator();
                if ui.button("Apply").clicked() {
                    out.push(Command::ApplySettings(edit.clone()));
                }
            });
        if !open {
            out.push(Command::ToggleSettings);
        }
        self.pending.extend(out);
    }

    /// After a 409: the user picks how to go on; nothing is lost whichever they choose.
    pub(super) fn conflict_ui(&mut self, ctx: &egui::Context) {
        let Some(current) = &self.server.conflict else {
            return;
        };
        let mine = self
            .editor
            .as_ref()
            .and_then(|e| e.doc.version)
            .unwrap_or(0);
        let mut out = Vec::new();
        egui::Modal::new(egui::Id::new("save_conflict")).show(ctx, |ui| {
            ui.heading("Saved by someone else");
            ui.label(format!(
                "Your edits are based on version {mine} of \"{}\", but the server now has version {}.",
                current.name, current.version
            ));
            ui.add_space(8.0);
            let choices = [
                (ConflictChoice::SaveAsCopy, "Save mine as a copy", "Keeps both: your graph becomes a new workflow."),
                (ConflictChoice::Overwrite, "Overwrite with mine", "Your graph becomes the next version; theirs stays in the history."),
                (ConflictChoice::ReloadTheirs, "Reload theirs", "Opens the server's version; your edits are kept as a draft."),
            ];
            for (choice, label, hint) in choices {
                if ui.button(label).on_hover_text(hint).clicked() {
                    out.push(Command::ResolveConflict(choice));
                }
            }
        });
        self.pending.extend(out);
    }

    pub(super) fn status_ui(&self, ui: &mut egui::Ui) {
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
            ui.separator();
            connection_ui(ui, &self.server);
            if !self.status.is_empty() {
                ui.separator();
                ui.label(&self.status);
            }
        });
    }

    pub(super) fn help_ui(&mut self, ctx: &egui::Context) {
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

    pub(super) fn about_ui(&mut self, ctx: &egui::Context) {
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

    pub(super) fn restore_ui(&mut self, ctx: &egui::Context) {
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

fn connection_ui(ui: &mut Ui, server: &ServerLink) {
    match &server.connection {
        Connection::Local => {
            ui.weak("no server");
        }
        Connection::Connecting => {
            ui.spinner();
            ui.label("connecting…");
        }
        Connection::Online { url } => {
            let saving = if server.saving.is_some() {
                " · saving…"
            } else {
                ""
            };
            dot_ui(ui, ONLINE);
            ui.label(format!("{url}{saving}"));
            if let Some(me) = &server.me {
                ui.weak(format!("as {}", me.role)).on_hover_text(format!(
                    "may: {}",
                    me.permissions
                        .iter()
                        .map(|p| p.action())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Connection::Offline { reason } => {
            ui.colored_label(WARNING, "Offline — read-only, reconnecting")
                .on_hover_text(reason);
        }
        Connection::Failed { reason } => {
            ui.colored_label(ERROR, "Not connected")
                .on_hover_text(reason);
        }
    }
}

pub(super) fn left_tabs_ui(ui: &mut Ui, tab: &mut LeftTab) {
    ui.horizontal(|ui| {
        ui.selectable_value(tab, LeftTab::Nodes, "Nodes");
        ui.selectable_value(tab, LeftTab::Workflows, "Workflows");
    });
    ui.separator();
}

/// The server's workflows: open, duplicate, delete; new from a family's starter.
pub(super) fn workflows_ui(ui: &mut Ui, server: &ServerLink, out: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Workflows").strong());
        if ui.small_button("⟳").on_hover_text("Refresh").clicked() {
            out.push(Command::RefreshWorkflows);
        }
    });
    if server.client.is_none() {
        ui.weak("Not connected to a server.");
        return;
    }
    if server.workflows.is_empty() {
        ui.weak("No workflows yet.");
    }
    for family in Family::ALL {
        let mut in_family = server
            .workflows
            .iter()
            .filter(|w| w.family == Some(family))
            .peekable();
        if in_family.peek().is_none() {
            continue;
        }
        ui.label(RichText::new(family.as_str()).small().weak());
        for wf in in_family {
            ui.horizontal(|ui| {
                let open = ui
                    .add(egui::Button::new(&wf.name).frame(false))
                    .on_hover_text(format!("{} · version {}", wf.id, wf.version));
                if open.clicked() {
                    out.push(Command::OpenWorkflow(wf.id.clone()));
                }
                open.context_menu(|ui| {
                    if ui.button("Open").clicked() {
                        out.push(Command::OpenWorkflow(wf.id.clone()));
                        ui.close();
                    }
                    if ui.button("Duplicate").clicked() {
                        out.push(Command::DuplicateWorkflow(wf.id.clone()));
                        ui.close();
                    }
                    if ui.button("Delete").clicked() {
                        out.push(Command::DeleteWorkflow {
                            id: wf.id.clone(),
                            version: wf.version,
                        });
                        ui.close();
                    }
                });
                ui.weak(format!("v{}", wf.version));
            });
        }
    }
}

/// Saved revisions of the open workflow, each restorable as a new version.
pub(super) fn history_ui(
    ui: &mut Ui,
    editor: &Editor,
    server: &ServerLink,
    out: &mut Vec<Command>,
) {
    let Some(id) = &editor.doc.id else {
        return;
    };
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("History").strong());
        if ui.small_button("Load").clicked() {
            out.push(Command::LoadHistory);
        }
    });
    let Some((for_id, revisions)) = &server.revisions else {
        return;
    };
    if for_id != id {
        return;
    }
    for rev in revisions {
        ui.horizontal(|ui| {
            ui.label(format!("v{} · {}", rev.revision, rev.note));
            let current = Some(rev.revision) == editor.doc.version;
            if !current
                && ui
                    .add_enabled(!editor.doc.is_dirty(), egui::Button::new("Restore").small())
                    .on_disabled_hover_text("Save or undo your changes first")
                    .clicked()
            {
                out.push(Command::RestoreRevision(rev.revision));
            }
        });
    }
}

/// A button that is greyed out, with the reason on hover, while `blocked`; true when clicked.
pub(super) fn button_unless_ui(ui: &mut Ui, label: &str, blocked: Option<&str>) -> bool {
    let response = ui.add_enabled(blocked.is_none(), egui::Button::new(label));
    match blocked {
        Some(reason) => {
            response.on_disabled_hover_text(reason);
            false
        }
        None => response.clicked(),
    }
}
