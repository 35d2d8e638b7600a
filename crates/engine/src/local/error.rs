//! Why a local run could not start (or could not be recorded): each error has a stable code,
//! a message naming the file or `--set` at fault, and structured details.

use std::path::Path;

use serde_json::{json, Value};
use workflow_contracts::ValidationError;

use crate::runtime::params::OverrideProblem;
use crate::runtime::{NodeError, RuntimeError};

/// A path as shown in messages (`-` is standard input).
pub(crate) fn shown(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A file (or standard input) could not be read.
    #[error("cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
    /// A JSON file does not parse (or does not have the expected shape).
    #[error("{path}: {message}")]
    MalformedJson {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// The graph has error-severity validation problems.
    #[error("{path}: the graph is invalid: {}", join(.errors.iter().map(|e| e.message.as_str())))]
    InvalidGraph {
        path: String,
        errors: Vec<ValidationError>,
    },
    /// The CAD file's extension is not one the engine imports.
    #[error("unsupported CAD file {path}: expected .glb, .gltf, .step or .stp")]
    UnsupportedCadFile { path: String, extension: String },
    /// The material map names materials the library does not have.
    #[error("{path}: not in the material library: {}", .materials.join(", "))]
    UnknownMaterials {
        path: String,
        materials: Vec<String>,
    },
    /// `--set` values that do not apply to the graph.
    #[error("invalid --set: {}", join(.0.iter().map(|p| p.message.as_str())))]
    InvalidOverrides(Vec<OverrideProblem>),
    /// The output directory cannot be created or written.
    #[error("output directory {path}: {message}")]
    Output { path: String, message: String },
    /// The graph ran, but its record could not be written.
    #[error("cannot write the run record {path}: {message}")]
    Record { path: String, message: String },
    /// An order-line run's product could not be processed from its CAD file.
    #[error("cannot process {path} into a product: node '{node}' failed: {}", .error.message)]
    CadProcessing {
        path: String,
        node: String,
        error: Box<NodeError>,
    },
    /// The runtime refused the run.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Cancelled (Ctrl-C) before the graph run started.
    #[error("cancelled")]
    Cancelled,
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join("; ")
}

impl LocalError {
    /// Stable code (the same codes as the API uses for the same problems).
    pub fn code(&self) -> &'static str {
        match self {
            LocalError::Unreadable { .. } => "unreadable_file",
            LocalError::MalformedJson { .. } => "malformed_json",
            LocalError::InvalidGraph { .. } => "invalid_graph",
            LocalError::UnsupportedCadFile { .. } => "unsupported_format",
            LocalError::UnknownMaterials { .. } => "unknown_material",
            LocalError::InvalidOverrides(_) => "invalid_overrides",
            LocalError::Output { .. } => "output_unwritable",
            LocalError::Record { .. } => "record_unwritable",
            LocalError::CadProcessing { .. } => "cad_processing_failed",
            LocalError::Runtime(e) => e.code(),
            LocalError::Cancelled => "cancelled",
        }
    }

    pub fn details(&self) -> Value {
        match self {
            LocalError::Unreadable { path, .. }
            | LocalError::Output { path, .. }
            | LocalError::Record { path, .. } => {
                json!({"path": path})
            }
            LocalError::MalformedJson {
                path, line, column, ..
            } => json!({"path": path, "line": line, "column": column}),
            LocalError::InvalidGraph { path, errors } => json!({"path": path, "errors": errors}),
            LocalError::UnsupportedCadFile { path, extension } => json!({
                "path": path,
                "extension": extension,
                "expected": crate::import::CAD_EXTENSIONS,
            }),
            LocalError::UnknownMaterials { path, materials } => {
                json!({"path": path, "materials": materials})
            }
            LocalError::InvalidOverrides(problems) => json!({"problems": problems}),
            LocalError::CadProcessing { path, node, error } => {
                json!({"path": path, "node": node, "error": error})
            }
            LocalError::Runtime(e) => e.details(),
            LocalError::Cancelled => Value::Null,
        }
    }

    /// `{"error": {"code", "message", "details"}}`, the API's error body.
    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code(), "message": self.to_string(), "details": self.details()}})
    }
}
