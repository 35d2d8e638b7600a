//! Bearer-token authentication and role checks. Tokens are random, shown once, and stored only
//! as their SHA-256 hash: a leaked database does not leak usable tokens.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::fmt;

// The names are the wire's (`GET /api/me` lists them); the matrix below is the server's.
pub use workflow_wire::auth::{Permission, Role};

/// A new random token: `wst_` + 64 hex digits (256 bits).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("wst_{}", hex(&bytes))
}

/// Seconds in a duration written `90s`, `45m`, `12h`, `30d` or plain seconds (`3600`).
pub fn parse_duration_seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => {
            return Err(format!(
                "unknown unit in '{text}': use s, m, h or d (e.g. 30d)"
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("'{text}' is not a positive duration such as 90s, 45m, 12h or 30d"))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The authenticated caller of a request. Extracting it rejects missing or unknown tokens (401).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub role: Role,
}

impl Caller {
    /// Allows the call when the caller's role has `permission`; otherwise 403 naming `action`
    /// (what was attempted, e.g. "cancel runs").
    pub fn require(&self, permission: Permission, action: &str) -> Result<(), ApiError> {
        if permission.granted_to(self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.role.to_string(),
                action: action.to_owned(),
            })
        }
    }
}

/// Which role has which permission: the server's rule over the wire's names. Every handler
/// checks one; `GET /api/me` lists a caller's, so a client can grey out what it would be
/// refused.
pub trait PermissionMatrix: Sized {
    /// The roles granted this permission besides admin, which has every one.
    fn roles(self) -> &'static [Role];
    fn granted_to(self, role: Role) -> bool;
    /// Every permission `role` has, in [`Permission::ALL`] order.
    fn of(role: Role) -> Vec<Self>;
}

impl PermissionMatrix for Permission {
    /// The roles granted this permission besides admin, which has every one.
    fn roles(self) -> &'static [Role] {
        use Role::{Author, Debugger, MaterialSpecialist};
        match self {
            Permission::EditWorkflows | Permission::EditOutputTypes => &[Author],
            Permission::UploadCad
            | Permission::Preflight
            | Permission::CreateOrderLines
            | Permission::ChangeRollout => &[Author, Debugger],
            Permission::EditMaterials => &[MaterialSpecialist, Author],
            Permission::ReadRuns
            | Permission::ControlRuns
            | Permission::Dispatch
            | Permission::ReadNotifications
            | Permission::DeliverNotifications => &[Debugger],
            Permission::Administer => &[],
        }
    }

    fn granted_to(self, role: Role) -> bool {
        role == Role::Admin || self.roles().contains(&role)
    }

    /// Every permission `role` has, in [`Permission::ALL`] order.
    fn of(role: Role) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| p.granted_to(role))
            .collect()
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let role = state
            .token_role(&hash_token(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller { role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate_token();
        assert_ne!(a, generate_token());
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_seconds("90"), Ok(90));
        assert_eq!(parse_duration_seconds("90s"), Ok(90));
        assert_eq!(parse_duration_seconds("45m"), Ok(2700));
        assert_eq!(parse_duration_seconds("12h"), Ok(43_200));
        assert_eq!(parse_duration_seconds("30d"), Ok(2_592_000));
        for bad in ["", "0", "d", "-5m", "3w", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn admin_has_every_permission_and_each_role_its_own() {
        assert_eq!(Permission::of(Role::Admin), Permission::ALL);
        assert!(Permission::of(Role::Author).contains(&Permission::EditWorkflows));
        assert!(!Permission::of(Role::Author).contains(&Permission::Dispatch));
        assert!(Permission::of(Role::Debugger).contains(&Permission::Dispatch));
        assert_eq!(
            Permission::of(Role::MaterialSpecialist),
            [Permission::EditMaterials]
        );
        for role in [Role::Author, Role::MaterialSpecialist, Role::Debugger] {
            assert!(!Permission::Administer.granted_to(role), "{role}");
        }
        // Each permission names one thing a role may do: a 403 message tells them apart.
        let actions: std::collections::HashSet<&str> =
            Permission::ALL.iter().map(|p| p.action()).collect();
        assert_eq!(actions.len(), Permission::ALL.len());
    }

    /// docs/security.md's "Who may do what" table is this table: one row per permission,
    /// `yes` exactly for the roles granted it.
    #[test]
    fn the_security_doc_table_is_the_permission_table() {
        let doc = include_str!("../../../docs/security.md");
        // Only this section: other sections may have tables of their own.
        let doc = doc
            .split("## Who may do what")
            .nth(1)
            .expect("the section")
            .split("\n## ")
            .next()
            .unwrap_or_default();
        let header = doc
            .lines()
            .find(|l| l.starts_with("| permission |"))
            .expect("the table header");
        let roles: Vec<Role> = header
            .split('|')
            .map(str::trim)
            .skip(3)
            .filter(|c| !c.is_empty())
            .map(|c| c.parse().expect("a role column"))
            .collect();
        assert_eq!(roles.len(), Role::ALL.len(), "{header}");
        let mut rows = 0;
        for line in doc.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`');
            let permission: Permission =
                serde_json::from_value(serde_json::json!(name)).expect("a permission");
            for (role, cell) in roles.iter().zip(&cells[3..]) {
                assert_eq!(
                    *cell == "yes",
                    permission.granted_to(*role),
                    "{name} for {role}: the doc says '{cell}'"
                );
            }
            rows += 1;
        }
        assert_eq!(rows, Permission::ALL.len());
    }
}
