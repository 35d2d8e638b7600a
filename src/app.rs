//! The application shell: menu bar, central area and status bar.

use crate::command::Command;

/// What the user sees and would expect back after a restart.
#[derive(Debug, Default)]
pub struct AppState {
    pub show_about: bool,
}

#[derive(Default)]
pub struct StudioApp {
    pub state: AppState,
    /// Commands sent by widgets this frame, applied after drawing.
    pending: Vec<Command>,
}

impl StudioApp {
    /// The one place commands change state.
    pub fn apply(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::ToggleAbout => self.state.show_about = !self.state.show_about,
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    fn send(&mut self, command: Command) {
        self.pending.push(command);
    }

    fn menu_bar_ui(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.command_button_ui(ui, Command::Quit));
            ui.menu_button("Help", |ui| {
                self.command_button_ui(ui, Command::ToggleAbout)
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
        });
    }

    fn about_ui(&mut self, ctx: &egui::Context) {
        let mut open = self.state.show_about;
        egui::Window::new("About Workflow Studio")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!("Version {}", env!("CARGO_PKG_VERSION")));
                ui.label("Node-graph editor for cad_file and order_line workflows.");
            });
        if open != self.state.show_about {
            self.send(Command::ToggleAbout);
        }
    }
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        for command in Command::ALL {
            if let Some(shortcut) = command.shortcut() {
                if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                    self.send(command);
                }
            }
        }
        egui::Panel::top("menu_bar").show(ui, |ui| self.menu_bar_ui(ui));
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui.label(format!("Workflow Studio {}", env!("CARGO_PKG_VERSION")));
        });
        egui::CentralPanel::default().show(ui, |ui| self.welcome_ui(ui));
        self.about_ui(&ctx);
        for command in std::mem::take(&mut self.pending) {
            self.apply(&ctx, command);
        }
    }
}
