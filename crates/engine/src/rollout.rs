//! Rollout readiness and automatic rollback, as pure rules over recorded outcomes: the server
//! stores shadow comparisons and fallbacks and asks these functions what they mean.
//!
//! An output type moves `legacy` → `shadow` → `graph`. Promotion to `graph` needs
//! [`Readiness::ready`]: enough shadow comparisons of the current workflow version in the
//! window, a pass rate at or above the threshold, and no `fail` among the latest ones.
//! Rollback to `legacy` is always allowed. In `graph`, repeated fallbacks to legacy within a
//! window ([`should_auto_rollback`]) roll it back automatically.

use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_contracts::output_type::Rollout;

use crate::compare::Verdict;

/// What promotion and automatic rollback require. Server-wide defaults; an output type may
/// override any field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutPolicy {
    /// Shadow comparisons (of the current workflow version) needed in the window.
    pub min_shadow_runs: u32,
    /// How far back shadow comparisons count, in minutes.
    pub window_minutes: u64,
    /// Share of those comparisons that must pass (0..1; `warn` does not pass).
    pub min_pass_rate: f64,
    /// None of the latest this-many comparisons may be `fail` (0 turns the check off).
    pub no_fail_in_last: u32,
    /// Fallbacks to legacy within `auto_rollback_window_minutes` that roll a `graph` output
    /// type back to `legacy` (0 turns automatic rollback off).
    pub auto_rollback_fallbacks: u32,
    pub auto_rollback_window_minutes: u64,
}

impl Default for RolloutPolicy {
    fn default() -> Self {
        RolloutPolicy {
            min_shadow_runs: 5,
            window_minutes: 7 * 24 * 60,
            min_pass_rate: 0.95,
            no_fail_in_last: 3,
            auto_rollback_fallbacks: 3,
            auto_rollback_window_minutes: 60,
        }
    }
}

impl RolloutPolicy {
    /// Every out-of-range field, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(0.0..=1.0).contains(&self.min_pass_rate) || !self.min_pass_rate.is_finite() {
            out.push((
                "min_pass_rate".into(),
                "must be a number from 0 to 1".into(),
            ));
        }
        if self.window_minutes == 0 {
            out.push(("window_minutes".into(), "must be at least 1".into()));
        }
        if self.auto_rollback_window_minutes == 0 {
            out.push((
                "auto_rollback_window_minutes".into(),
                "must be at least 1".into(),
            ));
        }
        out
    }

    /// This policy with `patch` (a JSON object of some of its fields) on top.
    pub fn patched(&self, patch: &serde_json::Value) -> Result<RolloutPolicy, String> {
        let mut value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let (Some(target), Some(patch)) = (value.as_object_mut(), patch.as_object()) else {
            return Err("a rollout policy must be a JSON object".into());
        };
        for (k, v) in patch {
            target.insert(k.clone(), v.clone());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    pub fn window_ms(&self) -> i64 {
        minutes_ms(self.window_minutes)
    }

    pub fn auto_rollback_window_ms(&self) -> i64 {
        minutes_ms(self.auto_rollback_window_minutes)
    }
}

fn minutes_ms(minutes: u64) -> i64 {
    i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX)
}

/// One finished shadow comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowOutcome {
    pub shadow_run_id: String,
    pub legacy_run_id: String,
    pub verdict: Verdict,
    /// The graph node the difference was attributed to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributed_node: Option<String>,
    /// The stored parity report (artifact id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_artifact_id: Option<String>,
    /// Unix milliseconds of the comparison.
    pub at: i64,
}

/// One readiness condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessCheck {
    /// `shadow_state`, `workflow`, `min_shadow_runs`, `pass_rate`, `no_recent_fail`.
    pub code: String,
    pub ok: bool,
    pub required: serde_json::Value,
    pub actual: serde_json::Value,
    pub message: String,
}

/// Whether an output type may be promoted to `graph`, and why (or why not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub rollout: Rollout,
    pub policy: RolloutPolicy,
    /// Comparisons count from this time on (unix ms).
    pub window_start: i64,
    pub evaluated_at: i64,
    pub shadow_runs: usize,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    /// `passed / shadow_runs`; `None` without comparisons.
    pub pass_rate: Option<f64>,
    pub checks: Vec<ReadinessCheck>,
    /// The codes of the checks that do not hold.
    pub failed_checks: Vec<String>,
    /// The latest comparisons in the window, newest first (at most 20).
    pub recent: Vec<ShadowOutcome>,
}

/// What [`evaluate_readiness`] needs besides the outcomes.
#[derive(Debug, Clone, Copy)]
pub struct ReadinessInput<'a> {
    pub rollout: Rollout,
    /// Whether the output type has a workflow that could be promoted.
    pub has_workflow: bool,
    pub policy: &'a RolloutPolicy,
    pub now: i64,
}

/// Judges readiness from the shadow comparisons of the current workflow version, newest
/// first (older than the window ones are ignored here).
pub fn evaluate_readiness(input: ReadinessInput<'_>, outcomes: &[ShadowOutcome]) -> Readiness {
    let policy = input.policy;
    let window_start = input.now.saturating_sub(policy.window_ms());
    let mut in_window: Vec<&ShadowOutcome> =
        outcomes.iter().filter(|o| o.at >= window_start).collect();
    in_window.sort_by_key(|o| std::cmp::Reverse(o.at));
    let count = |v: Verdict| in_window.iter().filter(|o| o.verdict == v).count();
    let (passed, warned, failed) = (
        count(Verdict::Pass),
        count(Verdict::Warn),
        count(Verdict::Fail),
    );
    let total = in_window.len();
    let pass_rate = (total > 0).then(|| passed as f64 / total as f64);
    let mut checks = Vec::new();
    checks.push(ReadinessCheck {
        code: "workflow".into(),
        ok: input.has_workflow,
        required: json!(true),
        actual: json!(input.has_workflow),
        message: if input.has_workflow {
            "the output type has a workflow".into()
        } else {
            "the output type has no workflow to promote".into()
        },
    });
    let in_shadow = input.rollout == Rollout::Shadow;
    checks.push(ReadinessCheck {
        code: "shadow_state".into(),
        ok: in_shadow,
        required: json!("shadow"),
        actual: json!(input.rollout.as_str()),
        message: if in_shadow {
            "the graph runs in shadow beside legacy".into()
        } else {
            format!(
                "the output type is in {}: put it in shadow first, so the graph is compared before it becomes authoritative",
                input.rollout.as_str()
            )
        },
    });
    let enough = total >= policy.min_shadow_runs as usize;
    checks.push(ReadinessCheck {
        code: "min_shadow_runs".into(),
        ok: enough,
        required: json!(policy.min_shadow_runs),
        actual: json!(total),
        message: format!(
            "{total} shadow comparison(s) of the current workflow version in the last {} minute(s); at least {} needed",
            policy.window_minutes, policy.min_shadow_runs
        ),
    });
    let rate_ok = pass_rate.is_some_and(|r| r + 1e-12 >= policy.min_pass_rate);
    checks.push(ReadinessCheck {
        code: "pass_rate".into(),
        ok: rate_ok,
        required: json!(policy.min_pass_rate),
        actual: json!(pass_rate),
        message: match pass_rate {
            Some(r) => format!(
                "pass rate {:.1} % ({passed} pass, {warned} warn, {failed} fail); at least {:.1} % needed",
                r * 100.0,
                policy.min_pass_rate * 100.0
            ),
            None => "no shadow comparison yet: no pass rate".into(),
        },
    });
    let last = policy.no_fail_in_last as usize;
    let recent_fail = in_window
        .iter()
        .take(last)
        .find(|o| o.verdict == Verdict::Fail);
    checks.push(ReadinessCheck {
        code: "no_recent_fail".into(),
        ok: recent_fail.is_none(),
        required: json!({"no_fail_in_last": policy.no_fail_in_last}),
        actual: json!(recent_fail.map(|o| &o.shadow_run_id)),
        message: match recent_fail {
            Some(o) => format!(
                "shadow run {} among the latest {last} comparison(s) failed{}",
                o.shadow_run_id,
                o.attributed_node
                    .as_ref()
                    .map(|n| format!(" (first differing node '{n}')"))
                    .unwrap_or_default()
            ),
            None => format!("no fail among the latest {last} comparison(s)"),
        },
    });
    let failed_checks: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.code.clone())
        .collect();
    Readiness {
        ready: failed_checks.is_empty(),
        rollout: input.rollout,
        policy: policy.clone(),
        window_start,
        evaluated_at: input.now,
        shadow_runs: total,
        passed,
        warned,
        failed,
        pass_rate,
        checks,
        failed_checks,
        recent: in_window.into_iter().take(20).cloned().collect(),
    }
}

/// Whether `fallbacks` fallback runs (counted since `max(window start, promotion)`) trip an
/// automatic rollback of an output type in `rollout`.
pub fn should_auto_rollback(policy: &RolloutPolicy, rollout: Rollout, fallbacks: u64) -> bool {
    rollout == Rollout::Graph
        && policy.auto_rollback_fallbacks > 0
        && fallbacks >= u64::from(policy.auto_rollback_fallbacks)
}

/// Whether a change from `from` to `to` is a promotion (needs readiness for `graph`) rather
/// than a rollback or demotion (always allowed).
pub fn is_promotion(from: Rollout, to: Rollout) -> bool {
    let rank = |r: Rollout| match r {
        Rollout::Legacy => 0,
        Rollout::Shadow => 1,
        Rollout::Graph => 2,
    };
    rank(to) > rank(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(i: i64, verdict: Verdict) -> ShadowOutcome {
        ShadowOutcome {
            shadow_run_id: format!("s{i}"),
            legacy_run_id: format!("l{i}"),
            verdict,
            attributed_node: (verdict == Verdict::Fail).then(|| "camera".into()),
            report_artifact_id: None,
            at: 1_000_000 + i,
        }
    }

    fn input(policy: &RolloutPolicy) -> ReadinessInput<'_> {
        ReadinessInput {
            rollout: Rollout::Shadow,
            has_workflow: true,
            policy,
            now: 1_000_100,
        }
    }

    #[test]
    fn ready_with_enough_passing_comparisons() {
        let policy = RolloutPolicy::default();
        let outcomes: Vec<_> = (0..5).map(|i| outcome(i, Verdict::Pass)).collect();
        let r = evaluate_readiness(input(&policy), &outcomes);
        assert!(r.ready, "{:?}", r.failed_checks);
        assert_eq!(r.pass_rate, Some(1.0));
        assert_eq!(r.recent[0].shadow_run_id, "s4", "newest first");
    }

    #[test]
    fn every_failed_check_is_named() {
        let policy = RolloutPolicy::default();
        let r = evaluate_readiness(
            ReadinessInput {
                rollout: Rollout::Legacy,
                ..input(&policy)
            },
            &[],
        );
        assert!(!r.ready);
        assert_eq!(
            r.failed_checks,
            vec!["shadow_state", "min_shadow_runs", "pass_rate"]
        );
        let mut outcomes: Vec<_> = (0..6).map(|i| outcome(i, Verdict::Pass)).collect();
        outcomes.push(outcome(6, Verdict::Fail));
        let r = evaluate_readiness(input(&policy), &outcomes);
        assert_eq!(r.failed_checks, vec!["pass_rate", "no_recent_fail"]);
        let check = r
            .checks
            .iter()
            .find(|c| c.code == "no_recent_fail")
            .expect("check");
        assert!(check.message.contains("s6") && check.message.contains("camera"));
        // Old comparisons fall out of the window.
        let mut old = outcome(7, Verdict::Fail);
        old.at = input(&policy).now - policy.window_ms() - 1;
        let fresh: Vec<_> = (0..5).map(|i| outcome(i, Verdict::Pass)).collect();
        let r = evaluate_readiness(input(&policy), &[fresh, vec![old]].concat());
        assert!(r.ready, "{:?}", r.failed_checks);
    }

    #[test]
    fn policy_patches_and_auto_rollback() {
        let policy = RolloutPolicy::default()
            .patched(&json!({"min_shadow_runs": 2, "auto_rollback_fallbacks": 2}))
            .expect("patch");
        assert_eq!(policy.min_shadow_runs, 2);
        assert!(RolloutPolicy::default()
            .patched(&json!({"min_shadow_run": 2}))
            .is_err());
        assert!(!should_auto_rollback(&policy, Rollout::Graph, 1));
        assert!(should_auto_rollback(&policy, Rollout::Graph, 2));
        assert!(!should_auto_rollback(&policy, Rollout::Legacy, 5));
        assert!(is_promotion(Rollout::Shadow, Rollout::Graph));
        assert!(!is_promotion(Rollout::Graph, Rollout::Shadow));
        let bad = RolloutPolicy {
            min_pass_rate: 1.5,
            ..RolloutPolicy::default()
        };
        assert_eq!(bad.problems()[0].0, "min_pass_rate");
    }
}
