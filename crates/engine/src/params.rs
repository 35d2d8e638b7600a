//! Typed module parameters from a graph node's (or output type's) parameter map, checked
//! against the node catalog in `workflow-contracts` (type, range, enum options; defaults from
//! the catalog), so the graph runtime and the legacy pipeline read parameters one way.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{Map, Value};
use workflow_contracts::{Graph, NodeDefinition, ParamSpec, Registry};

use crate::camera::{CameraParams, CameraPreset, Projection};
use crate::export_glb::ExportParams;
use crate::import::{ImportParams, SourceUnit};
use crate::lighting::{LightingParams, LightingPreset};
use crate::manifest::ManifestParams;
use crate::materials::{MissingPolicy, ResolveOptions};
use crate::render::{ImageParams, OutputFormat};
use crate::turntable::TurntableParams;

#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error("unknown node type `{0}`")]
    UnknownNode(String),
    #[error("node type `{node}` has no parameter `{param}`")]
    UnknownParam { node: String, param: String },
    #[error("node type `{node}` parameter `{param}`: {problem}")]
    Invalid {
        node: String,
        param: String,
        problem: String,
    },
}

impl ParamError {
    pub fn code(&self) -> &'static str {
        "invalid_param"
    }
}

/// Reads one node's parameters; remembers which catalog parameters were read.
pub struct ParamReader<'a> {
    def: NodeDefinition,
    values: &'a Map<String, Value>,
    read: RefCell<BTreeSet<String>>,
}

impl<'a> ParamReader<'a> {
    pub fn new(
        registry: &Registry,
        node_type: &str,
        values: &'a Map<String, Value>,
    ) -> Result<Self, ParamError> {
        let def = registry
            .get(node_type)
            .cloned()
            .ok_or_else(|| ParamError::UnknownNode(node_type.to_owned()))?;
        Ok(ParamReader {
            def,
            values,
            read: RefCell::new(BTreeSet::new()),
        })
    }

    /// With the built-in registry.
    pub fn builtin(node_type: &str, values: &'a Map<String, Value>) -> Result<Self, ParamError> {
        Self::new(&Registry::builtin(), node_type, values)
    }

    /// Catalog parameters this reader was never asked for (a drift check for tests).
    pub fn unread(&self) -> Vec<String> {
        let read = self.read.borrow();
        self.def
            .params
            .iter()
            .filter(|p| !read.contains(&p.name))
            .map(|p| p.name.clone())
            .collect()
    }

    fn spec(&self, name: &str) -> Result<(&ParamSpec, Value), ParamError> {
        let spec = self
            .def
            .params
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ParamError::UnknownParam {
                node: self.def.node_type.clone(),
                param: name.to_owned(),
            })?;
        self.read.borrow_mut().insert(name.to_owned());
        let v = self
            .values
            .get(name)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| spec.default.clone());
        Ok((spec, v))
    }

    fn invalid(&self, name: &str, problem: String) -> ParamError {
        ParamError::Invalid {
            node: self.def.node_type.clone(),
            param: name.to_owned(),
            problem,
        }
    }

    pub fn f64(&self, name: &str) -> Result<f64, ParamError> {
        let (spec, v) = self.spec(name)?;
        let x = v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.invalid(name, format!("expected a number, got {v}")))?;
        if spec.min.is_some_and(|m| x < m) || spec.max.is_some_and(|m| x > m) {
            return Err(self.invalid(
                name,
                format!(
                    "{x} is outside {}..{}",
                    spec.min.unwrap_or(f64::MIN),
                    spec.max.unwrap_or(f64::MAX)
                ),
            ));
        }
        Ok(x)
    }

    pub fn f32(&self, name: &str) -> Result<f32, ParamError> {
        Ok(self.f64(name)? as f32)
    }

    pub fn u64(&self, name: &str) -> Result<u64, ParamError> {
        let x = self.f64(name)?;
        if x < 0.0 || x.fract() != 0.0 {
            return Err(self.invalid(name, format!("expected a whole number, got {x}")));
        }
        Ok(x as u64)
    }

    pub fn bool(&self, name: &str) -> Result<bool, ParamError> {
        let (_, v) = self.spec(name)?;
        v.as_bool()
            .ok_or_else(|| self.invalid(name, format!("expected true or false, got {v}")))
    }

    pub fn string(&self, name: &str) -> Result<String, ParamError> {
        let (spec, v) = self.spec(name)?;
        let s = v
            .as_str()
            .ok_or_else(|| self.invalid(name, format!("expected a string, got {v}")))?
            .to_owned();
        if !spec.options.is_empty() && !spec.options.contains(&s) {
            return Err(self.invalid(
                name,
                format!("`{s}` is not one of {}", spec.options.join(", ")),
            ));
        }
        Ok(s)
    }

    pub fn vec3(&self, name: &str) -> Result<[f32; 3], ParamError> {
        let (_, v) = self.spec(name)?;
        let arr: Vec<f64> = v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        match arr.as_slice() {
            [x, y, z] if arr.iter().all(|c| c.is_finite()) => Ok([*x as f32, *y as f32, *z as f32]),
            _ => Err(self.invalid(name, format!("expected three numbers, got {v}"))),
        }
    }
}

/// `cad.import`.
pub fn import_params(r: &ParamReader) -> Result<ImportParams, ParamError> {
    Ok(ImportParams {
        linear_tolerance: r.f64("linear_tolerance")?,
        angular_tolerance: r.f64("angular_tolerance")?,
        up_axis: r.string("up_axis")?,
        merge_vertices: r.bool("merge_vertices")?,
        timeout_s: r.u64("timeout")?,
        memory_limit_mb: r.u64("memory_limit")?,
        // Set from the `cad_file` value: `cad.source` owns `source_unit`.
        source_unit: SourceUnit::Auto,
    })
}

/// `cad.source` parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CadSourceParams {
    pub max_file_size_mb: u64,
    pub source_unit: SourceUnit,
}

/// `cad.source`.
pub fn cad_source_params(r: &ParamReader) -> Result<CadSourceParams, ParamError> {
    let unit = r.string("source_unit")?;
    Ok(CadSourceParams {
        max_file_size_mb: r.u64("max_file_size")?,
        source_unit: SourceUnit::parse(&unit)
            .ok_or_else(|| r.invalid("source_unit", format!("unknown unit `{unit}`")))?,
    })
}

/// `cad.publish` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadPublishParams {
    /// Replace the results of an earlier processing of the product (else `already_published`).
    pub replace_existing: bool,
    pub mark_processed: bool,
}

/// `cad.publish`.
pub fn cad_publish_params(r: &ParamReader) -> Result<CadPublishParams, ParamError> {
    Ok(CadPublishParams {
        replace_existing: r.bool("replace_existing")?,
        mark_processed: r.bool("mark_processed")?,
    })
}

/// `order.source` `priority`: where runs of the workflow go in the job queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum QueuePriority {
    Low,
    #[default]
    Normal,
    High,
}

impl QueuePriority {
    pub fn parse(option: &str) -> Option<Self> {
        Some(match option {
            "low" => QueuePriority::Low,
            "normal" => QueuePriority::Normal,
            "high" => QueuePriority::High,
            _ => return None,
        })
    }

    /// The job queue's number: higher is taken first; `normal` is 0.
    pub fn rank(self) -> i64 {
        match self {
            QueuePriority::Low => -1,
            QueuePriority::Normal => 0,
            QueuePriority::High => 1,
        }
    }
}

/// `order.source` parameters: read by the server when it dispatches (the module itself only
/// hands the order line on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSourceParams {
    /// Whether an order line's own overrides apply on top of the output type's.
    pub apply_line_overrides: bool,
    pub priority: QueuePriority,
}

impl Default for OrderSourceParams {
    fn default() -> Self {
        OrderSourceParams {
            apply_line_overrides: true,
            priority: QueuePriority::Normal,
        }
    }
}

/// `order.source`.
pub fn order_source_params(r: &ParamReader) -> Result<OrderSourceParams, ParamError> {
    let priority = r.string("priority")?;
    Ok(OrderSourceParams {
        apply_line_overrides: r.bool("apply_line_overrides")?,
        priority: QueuePriority::parse(&priority)
            .ok_or_else(|| r.invalid("priority", format!("unknown priority `{priority}`")))?,
    })
}

/// The `order.source` settings a run of `graph` with `overrides` (keyed as invocation
/// overrides) has: each `order.source` node's effective parameters (defaults, the node's
/// values, the overrides). With several such nodes the line overrides apply only when every
/// one says so and the highest priority wins; a graph without one (the `cad_file` family)
/// gets the defaults. Values that do not pass their schema count as the default: the run
/// itself refuses them (`invalid_param`).
pub fn order_source_settings(
    graph: &Graph,
    registry: &Registry,
    overrides: &Map<String, Value>,
) -> OrderSourceParams {
    let (per_node, _) = crate::runtime::params::resolve_overrides(graph, registry, overrides);
    let mut settings: Option<OrderSourceParams> = None;
    for node in graph.nodes.iter().filter(|n| n.node_type == "order.source") {
        let Some(def) = registry.get(&node.node_type) else {
            continue;
        };
        let values = crate::runtime::params::effective_params(def, node, per_node.get(&node.id))
            .unwrap_or_default();
        let p = ParamReader::new(registry, &node.node_type, &values)
            .and_then(|r| order_source_params(&r))
            .unwrap_or_default();
        settings = Some(match settings {
            None => p,
            Some(s) => OrderSourceParams {
                apply_line_overrides: s.apply_line_overrides && p.apply_line_overrides,
                priority: s.priority.max(p.priority),
            },
        });
    }
    settings.unwrap_or_default()
}

/// `output.publish` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPublishParams {
    pub naming_template: String,
    /// Replace a deliverable of the same name (else `deliverable_exists`).
    pub overwrite: bool,
    /// Record a notification for the published deliverables.
    pub notify: bool,
}

/// `output.publish`.
pub fn output_publish_params(r: &ParamReader) -> Result<OutputPublishParams, ParamError> {
    Ok(OutputPublishParams {
        naming_template: r.string("naming_template")?,
        overwrite: r.bool("overwrite")?,
        notify: r.bool("notify")?,
    })
}

/// `cad.extract_metadata`.
pub fn manifest_params(r: &ParamReader) -> Result<ManifestParams, ParamError> {
    let key_separator = r.string("key_separator")?;
    if key_separator.is_empty() {
        return Err(r.invalid("key_separator", "must not be empty".into()));
    }
    Ok(ManifestParams {
        key_separator,
        include_hidden: r.bool("include_hidden")?,
        min_triangles: r.u64("min_triangles")? as usize,
    })
}

/// `cad.export_glb`.
pub fn export_params(r: &ParamReader) -> Result<ExportParams, ParamError> {
    Ok(ExportParams {
        embed_part_keys: r.bool("embed_part_keys")?,
        include_normals: r.bool("include_normals")?,
        include_textures: r.bool("include_textures")?,
    })
}

/// `export.scene` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneExportParams {
    /// `glb`, `gltf`, `blend` or `usd`.
    pub format: String,
    pub include_camera: bool,
    pub include_lights: bool,
    pub embed_textures: bool,
}

/// `export.scene`.
pub fn scene_export_params(r: &ParamReader) -> Result<SceneExportParams, ParamError> {
    Ok(SceneExportParams {
        format: r.string("format")?,
        include_camera: r.bool("include_camera")?,
        include_lights: r.bool("include_lights")?,
        embed_textures: r.bool("embed_textures")?,
    })
}

/// `material.resolve`.
pub fn resolve_options(r: &ParamReader) -> Result<ResolveOptions, ParamError> {
    Ok(ResolveOptions {
        missing_policy: match r.string("missing_policy")?.as_str() {
            "placeholder" => MissingPolicy::Placeholder,
            _ => MissingPolicy::Fail,
        },
        placeholder_color: r.string("placeholder_color")?,
        use_file_materials: r.bool("use_file_materials")?,
    })
}

/// Camera parameters of `scene.camera`, `render.thumbnail`, `render.still`, `render.turntable`
/// (projection only exists on `scene.camera`).
pub fn camera_params(r: &ParamReader) -> Result<CameraParams, ParamError> {
    let preset = r.string("camera_preset")?;
    let has_projection = r.def.params.iter().any(|p| p.name == "projection");
    Ok(CameraParams {
        preset: CameraPreset::parse(&preset)
            .ok_or_else(|| r.invalid("camera_preset", format!("unknown preset `{preset}`")))?,
        margin: r.f32("camera_margin")?,
        azimuth: r.f32("azimuth")?,
        elevation: r.f32("elevation")?,
        fov: r.f32("fov")?,
        projection: if has_projection && r.string("projection")? == "orthographic" {
            Projection::Orthographic
        } else {
            Projection::Perspective
        },
    })
}

/// `scene.lighting`.
pub fn lighting_params(r: &ParamReader) -> Result<LightingParams, ParamError> {
    let preset = r.string("preset")?;
    Ok(LightingParams {
        preset: LightingPreset::parse(&preset)
            .ok_or_else(|| r.invalid("preset", format!("unknown preset `{preset}`")))?,
        intensity: r.f32("intensity")?,
        environment: r.bool("environment")?,
        shadows: r.bool("shadows")?,
        key_direction: r.vec3("key_direction")?,
    })
}

/// `render.thumbnail` / `render.still` (and the image part of `render.turntable`).
pub fn image_params(r: &ParamReader) -> Result<ImageParams, ParamError> {
    let has_camera = r.def.params.iter().any(|p| p.name == "camera_preset");
    let has_format = r.def.params.iter().any(|p| p.name == "file_format");
    Ok(ImageParams {
        width: r.u64("width")? as u32,
        height: r.u64("height")? as u32,
        samples: r.u64("samples")? as u32,
        background: r.string("background")?,
        transparent_background: r.bool("transparent_background")?,
        camera: if has_camera {
            Some(camera_params(r)?)
        } else {
            None
        },
        format: if has_format && r.string("file_format")? == "jpeg" {
            OutputFormat::Jpeg
        } else {
            OutputFormat::Png
        },
        ..ImageParams::default()
    })
}

/// `render.still` / `render.turntable` `engine`: which renderer draws the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderEngine {
    Builtin,
    /// Blender's Cycles through the Blender bridge, with this many samples per pixel.
    Cycles {
        samples: u32,
    },
}

/// The node's render engine (`builtin` for nodes without the parameter: `render.thumbnail`).
pub fn render_engine(r: &ParamReader) -> Result<RenderEngine, ParamError> {
    if !r.def.params.iter().any(|p| p.name == "engine") {
        return Ok(RenderEngine::Builtin);
    }
    let engine = r.string("engine")?;
    let samples = r.u64("cycles_samples")? as u32;
    Ok(match engine.as_str() {
        "cycles" => RenderEngine::Cycles { samples },
        _ => RenderEngine::Builtin,
    })
}

/// `render.turntable` as its module reads it: what to render and what to store.
#[derive(Debug, Clone)]
pub struct TurntableNodeParams {
    pub turntable: TurntableParams,
    /// Store one PNG per frame beside the animated GIF.
    pub png_frames: bool,
}

/// `render.turntable`, every parameter.
pub fn turntable_node_params(r: &ParamReader) -> Result<TurntableNodeParams, ParamError> {
    Ok(TurntableNodeParams {
        turntable: turntable_params(r)?,
        png_frames: r.bool("png_frames")?,
    })
}

/// `render.turntable`'s rendering parameters.
pub fn turntable_params(r: &ParamReader) -> Result<TurntableParams, ParamError> {
    Ok(TurntableParams {
        image: image_params(r)?,
        frame_count: r.u64("frame_count")? as u32,
        degrees: r.f32("degrees")?,
        start_angle: r.f32("start_angle")?,
        counterclockwise: r.string("direction")? == "counterclockwise",
    })
}
