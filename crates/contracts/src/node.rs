use crate::family::Family;
use crate::param::ParamSpec;
use crate::port::PortSpec;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a node sits in a production pipeline; the palette groups by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionRole {
    Source,
    Transform,
    Render,
    Export,
    Sink,
}

impl ExecutionRole {
    pub const ALL: [ExecutionRole; 5] = [
        ExecutionRole::Source,
        ExecutionRole::Transform,
        ExecutionRole::Render,
        ExecutionRole::Export,
        ExecutionRole::Sink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionRole::Source => "source",
            ExecutionRole::Transform => "transform",
            ExecutionRole::Render => "render",
            ExecutionRole::Export => "export",
            ExecutionRole::Sink => "sink",
        }
    }
}

impl fmt::Display for ExecutionRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role a stored artifact plays: what a node consumes or publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactRole {
    CadSource,
    PreviewGlb,
    Thumbnail,
    PartManifest,
    MaterialReport,
    Still,
    Turntable,
    /// One frame of a turntable as a PNG, in turning order (the animation is `Turntable`).
    TurntableFrame,
    SceneExport,
    /// A shadow comparison's report (JSON), stored on the shadow run. No node publishes it.
    ParityReport,
    /// A difference image (heat map PNG) of a shadow comparison, stored on the shadow run.
    DifferenceImage,
}

impl ArtifactRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactRole::CadSource => "cad_source",
            ArtifactRole::PreviewGlb => "preview_glb",
            ArtifactRole::Thumbnail => "thumbnail",
            ArtifactRole::PartManifest => "part_manifest",
            ArtifactRole::MaterialReport => "material_report",
            ArtifactRole::Still => "still",
            ArtifactRole::Turntable => "turntable",
            ArtifactRole::TurntableFrame => "turntable_frame",
            ArtifactRole::SceneExport => "scene_export",
            ArtifactRole::ParityReport => "parity_report",
            ArtifactRole::DifferenceImage => "difference_image",
        }
    }
}

impl fmt::Display for ArtifactRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry entry: the complete, machine-usable contract of one node type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeDefinition {
    /// Stable key stored in graphs, e.g. `render.still`.
    #[serde(rename = "type")]
    pub node_type: String,
    pub label: String,
    pub description: String,
    pub families: Vec<Family>,
    /// The engine module that executes this node; several nodes may share one module.
    pub module_key: String,
    pub execution_role: ExecutionRole,
    pub input_contract: Vec<PortSpec>,
    pub output_contract: Vec<PortSpec>,
    pub artifact_roles_in: Vec<ArtifactRole>,
    pub artifact_roles_out: Vec<ArtifactRole>,
    /// The legacy pipeline step this node mirrors, if any.
    pub legacy_source: Option<String>,
    pub params: Vec<ParamSpec>,
}

impl NodeDefinition {
    pub fn allows(&self, family: Family) -> bool {
        self.families.contains(&family)
    }

    pub fn input(&self, name: &str) -> Option<&PortSpec> {
        self.input_contract.iter().find(|p| p.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&PortSpec> {
        self.output_contract.iter().find(|p| p.name == name)
    }

    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Comma-separated families, for messages.
    pub fn families_text(&self) -> String {
        self.families
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
