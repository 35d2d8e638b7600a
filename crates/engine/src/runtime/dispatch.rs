//! Rollout dispatch decisions (pure): which runs an output type's rollout asks for, and which
//! run's outputs are the deliverables. The server's workers follow this plan.

use super::record::RunStatus;
// Contracts' since the wire types carry it; re-exported here where it always was.
use serde::Serialize;
use workflow_contracts::output_type::Rollout;
pub use workflow_contracts::run::RunMode;

/// The runs one dispatch of an output type asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DispatchPlan {
    /// The run whose id the dispatch answers with.
    pub primary: RunMode,
    /// A shadow graph run beside the primary (rollout `shadow`).
    pub shadow: bool,
    /// Run the legacy pipeline when the primary graph run fails (rollout `graph`).
    pub fallback_to_legacy: bool,
}

pub fn plan_dispatch(rollout: Rollout, fallback_to_legacy: bool) -> DispatchPlan {
    match rollout {
        Rollout::Legacy => DispatchPlan {
            primary: RunMode::Legacy,
            shadow: false,
            fallback_to_legacy: false,
        },
        Rollout::Shadow => DispatchPlan {
            primary: RunMode::Legacy,
            shadow: true,
            fallback_to_legacy: false,
        },
        Rollout::Graph => DispatchPlan {
            primary: RunMode::Graph,
            shadow: false,
            fallback_to_legacy,
        },
    }
}

/// Whether a finished graph run should fall back to legacy: only a failure, never a
/// cancellation (the user asked it to stop).
pub fn should_fall_back(plan: &DispatchPlan, mode: RunMode, status: RunStatus) -> bool {
    plan.fallback_to_legacy && mode == RunMode::Graph && status == RunStatus::Failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_plans() {
        let legacy = plan_dispatch(Rollout::Legacy, true);
        assert_eq!(legacy.primary, RunMode::Legacy);
        assert!(!legacy.shadow && !legacy.fallback_to_legacy);
        let shadow = plan_dispatch(Rollout::Shadow, true);
        assert_eq!(shadow.primary, RunMode::Legacy);
        assert!(shadow.shadow);
        let graph = plan_dispatch(Rollout::Graph, true);
        assert!(should_fall_back(&graph, RunMode::Graph, RunStatus::Failed));
        assert!(!should_fall_back(
            &graph,
            RunMode::Graph,
            RunStatus::Cancelled
        ));
        assert!(!should_fall_back(
            &plan_dispatch(Rollout::Graph, false),
            RunMode::Graph,
            RunStatus::Failed
        ));
        assert!(!RunMode::Shadow.authoritative());
    }
}
