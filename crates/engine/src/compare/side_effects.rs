//! Side effects: which artifact roles each run published (and how often), and the contents
//! of the JSON documents among them (part manifest, material report), diffed path by path.
//!
//! Paths read like `parts["body/wheel[1]"].material.base_color[2]`: object keys after a dot
//! (quoted in brackets when not a plain identifier), array items by index, except arrays
//! whose items are all objects with a string `part_key`, which are matched by that key (so
//! one inserted part does not shift every later index).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use workflow_contracts::ArtifactRole;

use super::thresholds::{verdict_of, Finding, SideEffectThresholds, Verdict};

/// How often each run published one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleComparison {
    pub role: ArtifactRole,
    pub reference: usize,
    pub candidate: usize,
    pub verdict: Verdict,
}

/// One difference inside a JSON document. `None` on a side: the path does not exist there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonDifference {
    pub path: String,
    pub reference: Option<Value>,
    pub candidate: Option<Value>,
}

/// One JSON document (by role) of both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentComparison {
    pub role: ArtifactRole,
    /// Which one of that role (0 for the first).
    pub index: usize,
    pub verdict: Verdict,
    /// At most [`MAX_DIFFERENCES`]; `total_differences` counts them all.
    pub differences: Vec<JsonDifference>,
    pub total_differences: usize,
    /// Differences dropped by `ignore_paths` or a noise baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// Most differences kept per document (the count is always complete).
pub const MAX_DIFFERENCES: usize = 200;

/// Everything besides the main artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SideEffectComparison {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub roles: Vec<RoleComparison>,
    pub documents: Vec<DocumentComparison>,
}

impl SideEffectComparison {
    /// Recomputes findings and verdict from `roles` and `documents`.
    pub(crate) fn reassess(&mut self, t: &SideEffectThresholds) {
        let mut findings = Vec::new();
        for r in &self.roles {
            if r.verdict == Verdict::Pass {
                continue;
            }
            let (code, message) = match (r.reference, r.candidate) {
                (_, 0) => (
                    "role_missing",
                    format!("the candidate published no {} artifact", r.role),
                ),
                (0, _) => (
                    "role_extra",
                    format!(
                        "the candidate published {} {} artifact(s) the reference did not",
                        r.candidate, r.role
                    ),
                ),
                (a, b) => (
                    "role_count",
                    format!(
                        "the candidate published {b} {} artifact(s), the reference {a}",
                        r.role
                    ),
                ),
            };
            findings.push(Finding::new(r.verdict, code, message));
        }
        for d in &mut self.documents {
            d.verdict = if d.total_differences == 0 {
                Verdict::Pass
            } else {
                t.json_difference
            };
            if d.verdict != Verdict::Pass {
                let paths = d
                    .differences
                    .iter()
                    .take(5)
                    .map(|x| x.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if d.total_differences > 5 {
                    format!(" and {} more", d.total_differences - 5)
                } else {
                    String::new()
                };
                findings.push(Finding::new(
                    d.verdict,
                    "json_difference",
                    format!(
                        "the {} differs at {} path(s): {paths}{more}",
                        d.role, d.total_differences
                    ),
                ));
            }
        }
        self.verdict = verdict_of(&findings);
        self.findings = findings;
    }
}

/// Compares the roles each run published (`reference` / `candidate`: one entry per artifact).
pub fn compare_roles(
    reference: &[ArtifactRole],
    candidate: &[ArtifactRole],
    t: &SideEffectThresholds,
) -> Vec<RoleComparison> {
    let mut counts: BTreeMap<ArtifactRole, (usize, usize)> = BTreeMap::new();
    for r in reference {
        counts.entry(*r).or_default().0 += 1;
    }
    for r in candidate {
        counts.entry(*r).or_default().1 += 1;
    }
    counts
        .into_iter()
        .map(|(role, (a, b))| RoleComparison {
            role,
            reference: a,
            candidate: b,
            verdict: match (a, b) {
                (a, b) if a == b => Verdict::Pass,
                (_, 0) => t.missing_role,
                (0, _) => t.extra_role,
                _ => t.count_mismatch,
            },
        })
        .collect()
}

/// Compares one JSON document of both runs under `t` (tolerance, ignored paths).
pub fn compare_document(
    role: ArtifactRole,
    index: usize,
    reference: &Value,
    candidate: &Value,
    t: &SideEffectThresholds,
) -> DocumentComparison {
    let all = json_diff(reference, candidate, t.float_tolerance);
    let (ignored, kept): (Vec<JsonDifference>, Vec<JsonDifference>) = all
        .into_iter()
        .partition(|d| t.ignore_paths.iter().any(|p| path_under(&d.path, p)));
    let total = kept.len();
    let verdict = if total == 0 {
        Verdict::Pass
    } else {
        t.json_difference
    };
    DocumentComparison {
        role,
        index,
        verdict,
        differences: kept.into_iter().take(MAX_DIFFERENCES).collect(),
        total_differences: total,
        ignored: ignored.into_iter().map(|d| d.path).collect(),
    }
}

/// Whether `path` is `prefix` or lies under it.
pub fn path_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && matches!(path.as_bytes().get(prefix.len()), Some(b'.' | b'[')))
}

/// Every path where `reference` and `candidate` differ (numbers within
/// `tolerance × max(1, |a|, |b|)` are equal), in document order.
pub fn json_diff(reference: &Value, candidate: &Value, tolerance: f64) -> Vec<JsonDifference> {
    let mut out = Vec::new();
    diff(reference, candidate, tolerance, "", &mut out);
    out
}

fn key_segment(key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_owned()))
    }
}

fn join(path: &str, segment: &str) -> String {
    let p = format!("{path}{segment}");
    p.strip_prefix('.').map(str::to_owned).unwrap_or(p)
}

fn part_keys(items: &[Value]) -> Option<Vec<&str>> {
    items
        .iter()
        .map(|v| v.get("part_key").and_then(Value::as_str))
        .collect()
}

fn numbers_close(a: f64, b: f64, tolerance: f64) -> bool {
    a == b || (a - b).abs() <= tolerance * 1f64.max(a.abs()).max(b.abs())
}

fn diff(a: &Value, b: &Value, tol: f64, path: &str, out: &mut Vec<JsonDifference>) {
    let mut differ = |path: String, a: Option<&Value>, b: Option<&Value>| {
        out.push(JsonDifference {
            path: if path.is_empty() { "$".into() } else { path },
            reference: a.cloned(),
            candidate: b.cloned(),
        })
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, &key_segment(k));
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => diff(va, vb, tol, &p, out),
                    (va, vb) => out.push(JsonDifference {
                        path: p,
                        reference: va.cloned(),
                        candidate: vb.cloned(),
                    }),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if let (Some(kx), Some(ky)) = (part_keys(x), part_keys(y)) {
                let unique = |k: &[&str]| {
                    let mut s = k.to_vec();
                    s.sort_unstable();
                    s.windows(2).all(|w| w[0] != w[1])
                };
                if unique(&kx) && unique(&ky) {
                    let by_key: BTreeMap<&str, &Value> = ky.iter().copied().zip(y).collect();
                    for (k, va) in kx.iter().zip(x) {
                        let p = join(path, &format!("[{}]", Value::String((*k).to_owned())));
                        match by_key.get(k) {
                            Some(vb) => diff(va, vb, tol, &p, out),
                            None => out.push(JsonDifference {
                                path: p,
                                reference: Some(va.clone()),
                                candidate: None,
                            }),
                        }
                    }
                    for (k, vb) in ky.iter().zip(y) {
                        if !kx.contains(k) {
                            out.push(JsonDifference {
                                path: join(path, &format!("[{}]", Value::String((*k).to_owned()))),
                                reference: None,
                                candidate: Some(vb.clone()),
                            });
                        }
                    }
                    return;
                }
            }
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => diff(va, vb, tol, &p, out),
                    (va, vb) => out.push(JsonDifference {
                        path: p,
                        reference: va.cloned(),
                        candidate: vb.cloned(),
                    }),
                }
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let close = match (x.as_f64(), y.as_f64()) {
                (Some(p), Some(q)) => numbers_close(p, q, tol),
                _ => x == y,
            };
            if !close {
                differ(path.to_owned(), Some(a), Some(b));
            }
        }
        _ if a == b => {}
        _ => differ(path.to_owned(), Some(a), Some(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_paths_and_matches_parts_by_key() {
        let a = json!({
            "parts": [
                {"part_key": "body/wheel", "material": {"name": "rubber", "base_color": [0.1, 0.1, 0.1, 1.0]}},
                {"part_key": "body", "material": {"name": "paint"}},
            ],
            "missing": [],
            "total": 10
        });
        let b = json!({
            "parts": [
                {"part_key": "extra", "material": {"name": "steel"}},
                {"part_key": "body/wheel", "material": {"name": "rubber", "base_color": [0.1, 0.1, 0.2, 1.0]}},
                {"part_key": "body", "material": {"name": "paint"}},
            ],
            "missing": [],
            "total": 10.000001
        });
        let d = json_diff(&a, &b, 1e-5);
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "parts[\"body/wheel\"].material.base_color[2]",
                "parts[\"extra\"]"
            ]
        );
        assert_eq!(d[0].reference, Some(json!(0.1)));
        assert_eq!(d[0].candidate, Some(json!(0.2)));
        assert_eq!(d[1].reference, None);
        // no tolerance: the total differs too
        assert_eq!(json_diff(&a, &b, 0.0).len(), 3);
        assert!(json_diff(&a, &a, 0.0).is_empty());
        assert_eq!(json_diff(&json!(1), &json!("1"), 0.0)[0].path, "$");
    }

    #[test]
    fn roles_missing_fail_extra_warn() {
        use ArtifactRole::*;
        let t = SideEffectThresholds::default();
        let roles = compare_roles(
            &[Still, MaterialReport, PartManifest],
            &[Still, Still, MaterialReport, Thumbnail],
            &t,
        );
        let get = |r: ArtifactRole| {
            roles
                .iter()
                .find(|c| c.role == r)
                .map(|c| c.verdict)
                .expect("role listed")
        };
        assert_eq!(get(MaterialReport), Verdict::Pass);
        assert_eq!(get(PartManifest), Verdict::Fail);
        assert_eq!(get(Thumbnail), Verdict::Warn);
        assert_eq!(get(Still), Verdict::Fail);
        let mut s = SideEffectComparison {
            roles,
            ..Default::default()
        };
        s.reassess(&t);
        assert_eq!(s.verdict, Verdict::Fail);
        let codes: Vec<&str> = s.findings.iter().map(|f| f.code.as_str()).collect();
        assert!(codes.contains(&"role_missing") && codes.contains(&"role_extra"));
    }

    #[test]
    fn ignored_paths_do_not_count() {
        let t = SideEffectThresholds {
            ignore_paths: vec!["generated_at".into()],
            ..SideEffectThresholds::default()
        };
        let a = json!({"generated_at": 1, "parts": []});
        let b = json!({"generated_at": 2, "parts": []});
        let d = compare_document(ArtifactRole::MaterialReport, 0, &a, &b, &t);
        assert_eq!(d.verdict, Verdict::Pass);
        assert_eq!(d.ignored, vec!["generated_at".to_owned()]);
        assert!(path_under("parts[\"a\"].x", "parts[\"a\"]"));
        assert!(!path_under("parts_x", "parts"));
    }
}
