//! Stable node-error codes the runtime itself assigns. Modules add their own codes (e.g.
//! `cad_unreadable`); these never change meaning.

/// No module is registered under the node's `module_key`.
pub const MODULE_UNAVAILABLE: &str = "module_unavailable";
/// A node ran longer than its timeout.
pub const TIMEOUT: &str = "timeout";
/// The run was cancelled while the node waited or ran.
pub const CANCELLED: &str = "cancelled";
/// The module panicked (a bug in the module; the run goes on).
pub const MODULE_PANICKED: &str = "module_panicked";
/// A node upstream failed, so this node could not run (`root_cause_node` names it).
pub const UPSTREAM_FAILED: &str = "upstream_failed";
/// A connected input carried no value.
pub const MISSING_INPUT: &str = "missing_input";
/// An input value is not of the type the module expects.
pub const INPUT_TYPE_MISMATCH: &str = "input_type_mismatch";
/// A module returned an output its node definition does not declare, or left out one that
/// an edge consumes.
pub const OUTPUT_CONTRACT_VIOLATION: &str = "output_contract_violation";
/// An effective parameter (after overrides) does not satisfy its schema.
pub const INVALID_PARAM: &str = "invalid_param";
/// The artifact store refused an artifact.
pub const ARTIFACT_STORE_FAILED: &str = "artifact_store_failed";
