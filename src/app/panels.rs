//! The window's fixed parts: menu bar, welcome screen, status bar and dialogs.

use super::StudioApp;
use crate::command::Command;
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
    }

    pub(super) fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
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

    pub(super) fn command_button_ui(&mut self, ui: &mut egui::Ui, command: Command) {
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

    pub(super) fn welcome_ui(&mut self, ui: &mut egui::Ui) {
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
