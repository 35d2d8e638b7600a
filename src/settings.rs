//! Preferences kept between runs (through eframe's storage): which server to talk to and the
//! theme. Panel sizes and other widget state persist through egui's own memory.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    Dark,
    Light,
    /// Follow the operating system.
    System,
}

impl Theme {
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Theme::Dark => egui::ThemePreference::Dark,
            Theme::Light => egui::ThemePreference::Light,
            Theme::System => egui::ThemePreference::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Talk to `server_url` instead of the embedded server.
    pub use_remote: bool,
    pub server_url: String,
    pub token: String,
    pub theme: Theme,
}

pub const STORAGE_KEY: &str = "workflow-studio.settings";
