use serde::{Deserialize, Serialize};
use std::fmt;

/// What flows along an edge. Ports join only when their types are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortType {
    /// An uploaded CAD source file (glTF, GLB, STEP).
    CadFile,
    /// An in-memory scene: geometry, hierarchy, materials, camera and lights.
    Scene,
    /// Every part instance with its stable part key, mesh, material slots, bounds, triangles.
    PartManifest,
    /// Which material every part resolved to, and which parts have none.
    MaterialReport,
    /// A single rendered image.
    Image,
    /// An ordered sequence of rendered images (a turntable).
    Frames,
    /// A scene written to a file (GLB, glTF).
    SceneFile,
    /// An order line: a product, an output type and per-line overrides.
    OrderLine,
}

impl PortType {
    pub const ALL: [PortType; 8] = [
        PortType::CadFile,
        PortType::Scene,
        PortType::PartManifest,
        PortType::MaterialReport,
        PortType::Image,
        PortType::Frames,
        PortType::SceneFile,
        PortType::OrderLine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PortType::CadFile => "cad_file",
            PortType::Scene => "scene",
            PortType::PartManifest => "part_manifest",
            PortType::MaterialReport => "material_report",
            PortType::Image => "image",
            PortType::Frames => "frames",
            PortType::SceneFile => "scene_file",
            PortType::OrderLine => "order_line",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            PortType::CadFile => "An uploaded CAD source file (glTF, GLB, STEP).",
            PortType::Scene => "Scene graph with geometry, part keys, materials, camera, lights.",
            PortType::PartManifest => "Every part instance with its part key, bounds, triangles.",
            PortType::MaterialReport => "Resolved material per part key and the parts missing one.",
            PortType::Image => "One rendered image.",
            PortType::Frames => "An ordered sequence of rendered images.",
            PortType::SceneFile => "A scene written to a file (GLB or glTF).",
            PortType::OrderLine => "A product plus an output type and per-line overrides.",
        }
    }

    /// Whether an output of type `self` may feed an input of type `input`.
    pub fn connects_to(self, input: PortType) -> bool {
        self == input
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named, typed port of a node definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub port_type: PortType,
    pub label: String,
    pub description: String,
    /// Inputs only: the node cannot run without an edge into this port.
    #[serde(default)]
    pub required: bool,
    /// Inputs only: the port accepts many edges (otherwise at most one).
    #[serde(default)]
    pub multiple: bool,
}

impl PortSpec {
    pub fn input(name: &str, port_type: PortType, label: &str, description: &str) -> Self {
        PortSpec {
            name: name.to_owned(),
            port_type,
            label: label.to_owned(),
            description: description.to_owned(),
            required: true,
            multiple: false,
        }
    }

    pub fn output(name: &str, port_type: PortType, label: &str, description: &str) -> Self {
        PortSpec {
            required: false,
            ..PortSpec::input(name, port_type, label, description)
        }
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn many(mut self) -> Self {
        self.multiple = true;
        self
    }
}
