//! The problem type request validation outside the contracts reports: one per bad field, all
//! at once, so a client can mark every field at fault.

use serde::Serialize;
use utoipa::ToSchema;

/// One reason a request was refused. `field` names the request field at fault
/// (`roughness`, `overrides.render.still.width`, …).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Stable machine-readable code, e.g. `out_of_range`, `override_invalid`.
    pub code: String,
    pub field: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
}

impl FieldProblem {
    pub fn new(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            code: code.to_owned(),
            field: field.into(),
            message: message.into(),
            expected: None,
            got: None,
        }
    }

    pub fn expected(mut self, expected: impl Into<String>, got: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.got = Some(got.into());
        self
    }
}
