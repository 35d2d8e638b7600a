//! The app's integration tests, one binary: every test file links the whole app (egui,
//! three-d, the engine and the server, ~110 MB each), so separate binaries cost a gigabyte
//! of disk and a long link apiece.
mod app_shell;
mod canvas_conventions;
mod client_writes;
mod drafts;
mod editor;
mod first_run;
mod launcher;
mod live_runs;
mod rollout;
mod run_compare;
mod runs;
mod runs_production;
mod server_editor;
mod stable_layouts;
mod support;
mod tls;
mod uploads;
mod viewer_consistency;
mod viewer_part_keys;
mod viewer_server;
mod viewer_ui;
mod wire_boundary;
