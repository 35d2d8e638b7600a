//! Workflow Studio contracts: the single source of truth for node definitions, the graph
//! model, family-aware validation, canonical starter graphs and the repair of stored graphs.
//!
//! Pure data and pure functions: nothing here does I/O, so the server, the engine, the app and
//! the command line all agree on what a valid graph is.

pub mod catalog;
pub mod family;
pub mod generate;
pub mod graph;
pub mod layout;
pub mod markdown;
pub mod node;
pub mod normalize;
pub mod output_type;
pub mod param;
pub mod port;
pub mod registry;
pub mod run;
pub mod starter;
pub mod validate;

pub use family::Family;
pub use graph::{CommentFrame, Edge, Graph, GraphNode, PortRef};
pub use node::{ArtifactRole, ExecutionRole, NodeDefinition};
pub use normalize::{normalize, NormalizeChange, NormalizeReport};
pub use param::{ParamSpec, ParamType};
pub use port::{PortSpec, PortType};
pub use registry::Registry;
pub use starter::starter_graph;
pub use validate::{validate, ErrorCode, Severity, ValidationError, ValidationReport};
