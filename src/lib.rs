//! The Workflow Studio desktop app as a library, so UI tests drive the same code the binary
//! runs.

pub mod app;
pub mod backend;
pub mod command;
pub mod drafts;
pub mod editor;
pub mod layout;
pub mod local_time;
pub mod search;
pub mod settings;
pub mod viewer;
