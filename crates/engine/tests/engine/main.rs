//! The engine's integration tests, one binary (one link of the engine and the renderer
//! instead of one per file).
mod common;

mod blend;
mod camera_lighting;
mod compare;
mod cycles;
mod export;
mod gltf_conformance;
mod gltf_robustness;
mod import_gltf;
mod import_step;
mod materials;
mod modules;
mod params;
mod render;
mod usd;
mod viewer_scene;
