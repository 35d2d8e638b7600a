//! Workflow Studio backend: HTTP API, storage, jobs.
