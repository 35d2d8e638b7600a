//! Runs: dispatch, the persisted job queue and its in-process workers, live events. Workers
//! are transport: they load a queued run, call the engine's runtime, and persist what it
//! reports. What runs and how is decided by the engine (`workflow_engine::runtime`).

pub mod artifacts;
pub mod dispatch;
pub mod parity;
pub mod preflight;
mod service;
mod worker;

pub use service::{default_owner, HubEvent, QueueConfig, RunService, RunsConfig};
