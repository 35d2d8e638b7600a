//! Integration tests: the real server over HTTP with a temporary SQLite database.

mod admin;
mod auth;
mod common;
mod contracts;
mod errors;
mod output_types;
mod persistence;
mod store;
mod workflows;
