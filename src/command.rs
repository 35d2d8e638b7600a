//! Every user action is a [`Command`]: menus, shortcuts and (later) the palette send them,
//! and [`crate::app::StudioApp::apply`] is the one place that carries them out.

use egui::{Key, KeyboardShortcut, Modifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    ToggleAbout,
    Quit,
}

impl Command {
    pub const ALL: [Command; 2] = [Command::ToggleAbout, Command::Quit];

    pub fn label(self) -> &'static str {
        match self {
            Command::ToggleAbout => "About Workflow Studio",
            Command::Quit => "Quit",
        }
    }

    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        match self {
            Command::ToggleAbout => Some(KeyboardShortcut::new(Modifiers::NONE, Key::F1)),
            Command::Quit => Some(KeyboardShortcut::new(Modifiers::COMMAND, Key::Q)),
        }
    }
}
