//! Roles and permissions as the API names them (`GET /api/me`, 403 answers). Which role has
//! which permission is the server's decision (`workflow_server::auth`), not the wire's.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Edits workflows and output types.
    Author,
    /// Edits material maps (later issue).
    MaterialSpecialist,
    /// Reads runs and dispatches (later issue).
    Debugger,
    /// Everything, including tokens and normalize.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Author,
        Role::MaterialSpecialist,
        Role::Debugger,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::MaterialSpecialist => "material_specialist",
            Role::Debugger => "debugger",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role '{s}': expected author, material_specialist, debugger or admin"
                )
            })
    }
}

/// What a role may do. Every handler checks one; `GET /api/me` lists a caller's, so a client
/// can grey out what it would be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, edit, delete and restore workflows.
    EditWorkflows,
    /// Create, edit and delete output types.
    EditOutputTypes,
    /// Upload CAD files (a product and its processing run).
    UploadCad,
    /// Edit material maps and the material library.
    EditMaterials,
    /// Read runs, their events and artifacts.
    ReadRuns,
    /// Cancel runs and re-run them (a re-run starts a new run, as a dispatch does).
    ControlRuns,
    /// Preflight workflows and output types.
    Preflight,
    /// Dispatch runs (workflows, output types, order lines).
    Dispatch,
    /// Create order lines.
    CreateOrderLines,
    /// Read the notification outbox.
    ReadNotifications,
    /// Mark notifications delivered (what a mail/webhook sender does after sending).
    DeliverNotifications,
    /// Move an output type's rollout (promote, roll back).
    ChangeRollout,
    /// Tokens, normalize, rollout policies.
    Administer,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::EditWorkflows,
        Permission::EditOutputTypes,
        Permission::UploadCad,
        Permission::EditMaterials,
        Permission::ReadRuns,
        Permission::ControlRuns,
        Permission::Preflight,
        Permission::Dispatch,
        Permission::CreateOrderLines,
        Permission::ReadNotifications,
        Permission::DeliverNotifications,
        Permission::ChangeRollout,
        Permission::Administer,
    ];

    /// What the permission allows, as in "may not …".
    pub fn action(self) -> &'static str {
        match self {
            Permission::EditWorkflows => "edit workflows",
            Permission::EditOutputTypes => "edit output types",
            Permission::UploadCad => "upload CAD files",
            Permission::EditMaterials => "edit material maps or the library",
            Permission::ReadRuns => "read runs",
            Permission::ControlRuns => "cancel or re-run runs",
            Permission::Preflight => "preflight",
            Permission::Dispatch => "dispatch runs",
            Permission::CreateOrderLines => "create order lines",
            Permission::ReadNotifications => "read notifications",
            Permission::DeliverNotifications => "mark notifications delivered",
            Permission::ChangeRollout => "change rollouts",
            Permission::Administer => "administer the server",
        }
    }
}

/// Who the bearer token speaks for: its role and every permission that role has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub role: Role,
    /// What this token may do; anything else is refused with 403.
    pub permissions: Vec<Permission>,
}
