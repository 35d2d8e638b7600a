//! Workflow Studio backend: HTTP API over contracts, storage with migrations, auth.
//!
//! Run it standalone with the `workflow-server serve` verb, or in-process from the desktop app
//! with [`embedded::start`].

pub mod api;
pub mod app;
pub mod artifacts;
pub mod auth;
pub mod cli_parity;
pub mod cli_run;
pub mod deliverables;
pub mod embedded;
pub mod error;
pub mod json;
pub mod maintenance;
pub mod materials;
pub mod net;
pub mod orders;
pub mod products;
pub mod rollout;
pub mod runs;
pub mod sample;
pub mod seed;
pub mod state;
pub mod store;
pub mod validation;

pub use api::ApiConfig;
pub use embedded::EmbeddedServer;
pub use error::ApiError;
