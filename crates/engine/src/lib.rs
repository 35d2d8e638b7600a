//! Workflow Studio engine: the production modules that the graph runtime and the legacy
//! pipeline both call (one implementation, so a parity fix lands once).
//!
//! Each module is a plain function over typed inputs and parameters returning typed outputs or
//! an error with a stable code (`.code()`) and a message naming what is wrong and where.
//!
//! | node type(s)                      | module                                   |
//! |-----------------------------------|------------------------------------------|
//! | `cad.import`                      | [`import::import_file`]                  |
//! | `cad.extract_metadata`            | [`manifest::extract_manifest`]           |
//! | `cad.export_glb`                  | [`export_glb::export_glb`]               |
//! | `material.resolve`                | [`materials::resolve_materials`]         |
//! | `scene.camera`                    | [`camera::CameraParams`] / [`camera::frame_camera`] |
//! | `scene.lighting`                  | [`lighting::LightingParams`]             |
//! | `render.thumbnail`, `render.still`| [`render::Renderer::render_still`] (`engine = cycles`: [`cycles::render_still_cycles`]) |
//! | `render.turntable`                | [`turntable::render_turntable`] (`engine = cycles`: [`cycles::render_turntable_cycles`]) |
//! | `export.scene`                    | [`export_glb::export_scene`] / [`pipeline::export_scene_value`] (`blend`: [`blender::export_blend`], `usd`: [`usd::export_usd_scene`]) |
//!
//! [`params`] turns a node's JSON parameter map into these typed parameters (checked against
//! the catalog); [`pipeline::SceneValue`] is what flows along `scene` edges and
//! [`pipeline::render_image`] applies the one camera/material/lighting precedence.
//!
//! External programs (OpenCASCADE, Blender, OpenUSD) run through [`tool::ToolRun`]: time and
//! memory caps, a log that never shows the private folder.
//!
//! [`compare`] judges two runs' outputs against each other (golden-case parity: images,
//! turntables, scene files, side effects; thresholds as data; attribution of a regression to
//! the first differing node, through the per-node output digests of [`digest`]).

pub mod blender;
pub mod calendar;
pub mod camera;
pub mod compare;
pub mod cycles;
pub mod digest;
pub mod export_glb;
pub mod export_usd;
pub mod file_name;
pub mod golden;
pub mod import;
pub mod lighting;
pub mod local;
pub mod manifest;
pub mod materials;
pub mod modules;
pub mod params;
pub mod part_key;
pub mod pipeline;
pub mod render;
pub mod rollout;
pub mod runtime;
pub mod scene;
pub mod tool;
pub mod turntable;
pub mod usd;

pub use import::{
    import_file, import_file_as, import_gltf_bytes, ImportError, ImportParams, SourceUnit,
};
pub use manifest::{extract_manifest, Manifest, ManifestParams, PartEntry};
pub use materials::{resolve_materials, MaterialResolution};
pub use scene::Scene;
