//! Integration tests: the real server over HTTP with a temporary SQLite database.

mod admin;
mod artifacts;
mod auth;
mod budget;
mod common;
mod contracts;
mod errors;
mod materials;
mod modules;
mod net;
mod openapi;
mod orders;
mod output_types;
mod packaging;
mod persistence;
mod products;
mod rollout;
mod runs;
mod sample;
mod store;
mod uploads;
mod wire;
mod workers;
mod workflows;
