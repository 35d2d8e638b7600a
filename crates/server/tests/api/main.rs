//! Integration tests: the real server over HTTP with a temporary SQLite database.

mod admin;
mod auth;
mod common;
mod contracts;
mod errors;
mod materials;
mod modules;
mod openapi;
mod orders;
mod output_types;
mod persistence;
mod products;
mod rollout;
mod runs;
mod store;
mod workflows;
