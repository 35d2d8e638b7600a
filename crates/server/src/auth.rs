//! Bearer-token authentication and role checks. Tokens are random, shown once, and stored only
//! as their SHA-256 hash: a leaked database does not leak usable tokens.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
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

/// A new random token: `wst_` + 64 hex digits (256 bits).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("wst_{}", hex(&bytes))
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
    /// Allows `allowed` roles and admin; anything else is 403 naming the action.
    pub fn require(&self, allowed: &[Role], action: &str) -> Result<(), ApiError> {
        if self.role == Role::Admin || allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.role.to_string(),
                action: action.to_owned(),
            })
        }
    }

    pub fn require_author(&self, action: &str) -> Result<(), ApiError> {
        self.require(&[Role::Author], action)
    }

    pub fn require_admin(&self, action: &str) -> Result<(), ApiError> {
        self.require(&[], action)
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
}
