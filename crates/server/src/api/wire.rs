//! Store records and domain results into the API's wire types (`workflow_wire`), in one
//! place. Each conversion names every field of its source: a field added to a store record
//! or to the engine's readiness fails to compile here until someone decides whether the API
//! shows it, instead of silently appearing in (or vanishing from) the JSON.

use crate::rollout::RolloutSummary;
use crate::store;
use workflow_engine::compare::Verdict;
use workflow_engine::rollout::{Readiness, ReadinessCheck, RolloutPolicy, ShadowOutcome};
use workflow_wire as wire;

impl From<store::Workflow> for wire::Workflow {
    fn from(w: store::Workflow) -> Self {
        let store::Workflow {
            id,
            name,
            family,
            version,
            graph,
            created_at,
            updated_at,
        } = w;
        wire::Workflow {
            id,
            name,
            family,
            version,
            graph,
            created_at,
            updated_at,
        }
    }
}

impl From<store::Revision> for wire::Revision {
    fn from(r: store::Revision) -> Self {
        let store::Revision {
            workflow_id,
            revision,
            name,
            graph,
            note,
            created_at,
        } = r;
        wire::Revision {
            workflow_id,
            revision,
            name,
            graph,
            note,
            created_at,
        }
    }
}

impl From<store::OutputTypeRecord> for wire::OutputTypeRecord {
    fn from(o: store::OutputTypeRecord) -> Self {
        let store::OutputTypeRecord {
            id,
            version,
            spec,
            created_at,
            updated_at,
        } = o;
        wire::OutputTypeRecord {
            id,
            version,
            spec,
            created_at,
            updated_at,
        }
    }
}

impl From<store::RunRecord> for wire::RunRecord {
    fn from(r: store::RunRecord) -> Self {
        let store::RunRecord {
            id,
            mode,
            trigger,
            status,
            workflow_id,
            workflow_version,
            output_type_id,
            product_id,
            inputs,
            overrides,
            graph,
            output_type,
            authoritative,
            linked_run_id,
            link,
            rerun_of,
            error,
            created_at,
            started_at,
            finished_at,
            nodes,
        } = r;
        wire::RunRecord {
            id,
            mode,
            trigger,
            status,
            workflow_id,
            workflow_version,
            output_type_id,
            product_id,
            inputs,
            overrides,
            graph,
            output_type,
            authoritative,
            linked_run_id,
            link,
            rerun_of,
            error,
            created_at,
            started_at,
            finished_at,
            nodes,
        }
    }
}

impl From<store::RolloutChange> for wire::RolloutChange {
    fn from(c: store::RolloutChange) -> Self {
        let store::RolloutChange {
            id,
            output_type_id,
            from,
            to,
            actor,
            reason,
            forced,
            automatic,
            readiness,
            output_type_version,
            created_at,
        } = c;
        wire::RolloutChange {
            id,
            output_type_id,
            from,
            to,
            actor,
            reason,
            forced,
            automatic,
            readiness,
            output_type_version,
            created_at,
        }
    }
}

impl From<RolloutSummary> for wire::RolloutSummary {
    fn from(s: RolloutSummary) -> Self {
        let RolloutSummary {
            output_type,
            readiness,
            last_change,
        } = s;
        wire::RolloutSummary {
            output_type: output_type.into(),
            readiness: self::readiness(readiness),
            last_change: last_change.map(Into::into),
        }
    }
}

/// The engine's readiness as the API shows it (a function: neither type is this crate's).
pub fn readiness(r: Readiness) -> wire::Readiness {
    let Readiness {
        ready,
        rollout,
        policy,
        window_start,
        evaluated_at,
        shadow_runs,
        passed,
        warned,
        failed,
        pass_rate,
        checks,
        failed_checks,
        recent,
    } = r;
    wire::Readiness {
        ready,
        rollout,
        policy: self::policy(policy),
        window_start,
        evaluated_at,
        shadow_runs,
        passed,
        warned,
        failed,
        pass_rate,
        checks: checks.into_iter().map(check).collect(),
        failed_checks,
        recent: recent.into_iter().map(outcome).collect(),
    }
}

fn policy(p: RolloutPolicy) -> wire::RolloutPolicy {
    let RolloutPolicy {
        min_shadow_runs,
        window_minutes,
        min_pass_rate,
        no_fail_in_last,
        auto_rollback_fallbacks,
        auto_rollback_window_minutes,
    } = p;
    wire::RolloutPolicy {
        min_shadow_runs,
        window_minutes,
        min_pass_rate,
        no_fail_in_last,
        auto_rollback_fallbacks,
        auto_rollback_window_minutes,
    }
}

fn check(c: ReadinessCheck) -> wire::ReadinessCheck {
    let ReadinessCheck {
        code,
        ok,
        required,
        actual,
        message,
    } = c;
    wire::ReadinessCheck {
        code,
        ok,
        required,
        actual,
        message,
    }
}

fn outcome(o: ShadowOutcome) -> wire::ShadowOutcome {
    let ShadowOutcome {
        shadow_run_id,
        legacy_run_id,
        verdict,
        attributed_node,
        report_artifact_id,
        at,
    } = o;
    wire::ShadowOutcome {
        shadow_run_id,
        legacy_run_id,
        verdict: self::verdict(verdict),
        attributed_node,
        report_artifact_id,
        at,
    }
}

fn verdict(v: Verdict) -> wire::Verdict {
    match v {
        Verdict::Pass => wire::Verdict::Pass,
        Verdict::Warn => wire::Verdict::Warn,
        Verdict::Fail => wire::Verdict::Fail,
    }
}

/// Every item of a list converted (`Json(wire_list(records))`).
pub fn list<S, W: From<S>>(items: Vec<S>) -> Vec<W> {
    items.into_iter().map(W::from).collect()
}
