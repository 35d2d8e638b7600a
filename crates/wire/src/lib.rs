//! The JSON the Workflow Studio HTTP API sends and receives: what the app's client reads and
//! writes, and what the server's handlers answer with.
//!
//! These are not the server's storage records. The server converts its store records into
//! these types in one place (`workflow_server::api::wire`), with exhaustive field lists, so a
//! storage change cannot silently change the API: it fails to compile until the conversion
//! says what the API shows. The app depends on this crate (and the server's embedded entry
//! point) only. No web stack, no database, no runtime here: serde, contracts, and utoipa's
//! `ToSchema` so the OpenAPI document is generated from these types.

pub mod auth;
pub mod rollout;
pub mod runs;
pub mod workflows;

pub use auth::{Me, Permission, Role};
pub use rollout::{
    ChangeView, Readiness, ReadinessCheck, RolloutChange, RolloutPolicy, RolloutRequest,
    RolloutSummary, ShadowOutcome, Verdict,
};
pub use runs::{DispatchBody, Dispatched, DispatchedRun, RerunBody, Run, RunPage, RunRecord};
pub use workflows::{OutputTypeRecord, Revision, Workflow, WorkflowInput};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Each package of the workspace's lock file with the names of its dependencies.
    fn lock_graph(lock: &str) -> BTreeMap<String, Vec<String>> {
        let mut graph = BTreeMap::new();
        for block in lock.split("[[package]]").skip(1) {
            let mut name = None;
            let mut deps = Vec::new();
            let mut in_deps = false;
            for line in block.lines().map(str::trim) {
                if let Some(n) = line.strip_prefix("name = ") {
                    name = Some(n.trim_matches('"').to_owned());
                } else if line == "dependencies = [" {
                    in_deps = true;
                } else if in_deps && line == "]" {
                    in_deps = false;
                } else if in_deps {
                    // `"name"` or `"name version"` when several versions are locked.
                    let dep = line.trim_end_matches(',').trim_matches('"');
                    deps.push(dep.split(' ').next().unwrap_or(dep).to_owned());
                }
            }
            if let Some(name) = name {
                graph.entry(name).or_insert_with(Vec::new).extend(deps);
            }
        }
        graph
    }

    /// The wire types link no web stack, database or runtime: a client that only speaks the
    /// API gets serde and the contracts, nothing of the server's.
    #[test]
    fn the_wire_crate_depends_on_no_server_stack() {
        let graph = lock_graph(include_str!("../../../Cargo.lock"));
        let mut seen = BTreeSet::new();
        let mut todo = vec!["workflow-wire".to_owned()];
        while let Some(name) = todo.pop() {
            if seen.insert(name.clone()) {
                todo.extend(graph.get(&name).cloned().unwrap_or_default());
            }
        }
        assert!(
            seen.contains("serde") && seen.contains("workflow-contracts"),
            "{seen:?}"
        );
        for banned in [
            "axum",
            "sqlx",
            "tokio",
            "hyper",
            "reqwest",
            "workflow-engine",
            "workflow-server",
        ] {
            assert!(!seen.contains(banned), "workflow-wire pulls in {banned}");
        }
    }

    /// Permissions and roles keep the names the API has always used.
    #[test]
    fn roles_and_permissions_keep_their_wire_names() {
        use crate::{Permission, Role};
        for role in Role::ALL {
            let json = serde_json::to_value(role).expect("encode");
            assert_eq!(json, role.as_str());
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(
            serde_json::to_value(Permission::EditMaterials).expect("encode"),
            "edit_materials"
        );
        let actions: BTreeSet<&str> = Permission::ALL.iter().map(|p| p.action()).collect();
        assert_eq!(actions.len(), Permission::ALL.len());
    }
}
