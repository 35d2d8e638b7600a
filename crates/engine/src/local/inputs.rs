//! Reading and checking what a local run is given, before anything runs. Every problem is a
//! [`LocalError`] naming the file (or `--set`) and what is wrong with it.

use std::io::Read as _;
use std::path::Path;

use serde_json::{Map, Number, Value};
use workflow_contracts::{validate, Graph, ParamSpec, ParamType, Registry, Severity};
use workflow_contracts::{GraphNode, ValidationError};

use super::error::{shown, LocalError};
use crate::import::CAD_EXTENSIONS;
use crate::materials::{MaterialLibrary, MaterialMap};
use crate::runtime::params::{resolve_overrides, OverrideProblem};

/// Code of a `--set` whose value does not fit the parameter's schema.
pub const INVALID_OVERRIDE_VALUE: &str = "invalid_override_value";
/// Code of a `--set` that is not `NODE.PARAM=VALUE`.
pub const INVALID_SET: &str = "invalid_set";

fn read_text(path: &Path) -> Result<String, LocalError> {
    let unreadable = |e: std::io::Error| LocalError::Unreadable {
        path: shown(path),
        message: e.to_string(),
    };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(unreadable)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(unreadable)
    }
}

fn malformed(path: &Path, err: &serde_json::Error) -> LocalError {
    LocalError::MalformedJson {
        path: shown(path),
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    }
}

/// Reads a graph file (`-`: standard input) and validates it against `registry`. Returns the
/// graph and its warning-severity problems; error-severity problems refuse it.
pub fn read_graph(
    path: &Path,
    registry: &Registry,
) -> Result<(Graph, Vec<ValidationError>), LocalError> {
    let text = read_text(path)?;
    let graph = Graph::from_json(&text).map_err(|e| malformed(path, &e))?;
    let report = validate(&graph, registry);
    let (errors, warnings): (Vec<_>, Vec<_>) = report
        .errors
        .into_iter()
        .partition(|e| e.severity == Severity::Error);
    if !report.valid || !errors.is_empty() {
        return Err(LocalError::InvalidGraph {
            path: shown(path),
            errors,
        });
    }
    Ok((graph, warnings))
}

/// Checks that `path` is a readable file with a CAD extension the engine imports.
pub fn check_cad_file(path: &Path) -> Result<(), LocalError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !CAD_EXTENSIONS.contains(&extension.as_str()) {
        return Err(LocalError::UnsupportedCadFile {
            path: shown(path),
            extension,
        });
    }
    let unreadable = |message: String| LocalError::Unreadable {
        path: shown(path),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("not a file".into()));
    }
    std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    Ok(())
}

/// Reads a material map (the body of `PUT /api/products/{id}/material-map`) and checks that
/// every material it names is in `library`.
pub fn read_material_map(
    path: &Path,
    library: &MaterialLibrary,
) -> Result<MaterialMap, LocalError> {
    let text = read_text(path)?;
    let map: MaterialMap = serde_json::from_str(&text).map_err(|e| malformed(path, &e))?;
    let unknown = map.unknown_materials(library);
    if !unknown.is_empty() {
        return Err(LocalError::UnknownMaterials {
            path: shown(path),
            materials: unknown.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(map)
}

/// Turns `--set NODE.PARAM=VALUE` arguments into run overrides, typed by each parameter's
/// schema (`NODE` is a node id of the graph, or a node type: every node of it). Every problem
/// is reported at once: a malformed argument, an unknown node or parameter, a value of the
/// wrong type or out of range. A later `--set` of the same key wins.
pub fn parse_sets(
    graph: &Graph,
    registry: &Registry,
    sets: &[String],
) -> Result<Map<String, Value>, LocalError> {
    let mut overrides = Map::new();
    let mut problems = Vec::new();
    for set in sets {
        let Some((key, raw)) = set.split_once('=') else {
            problems.push(OverrideProblem {
                code: INVALID_SET,
                key: set.clone(),
                message: format!("--set '{set}' must be NODE.PARAM=VALUE"),
            });
            continue;
        };
        let key = key.trim();
        let value = match param_spec(graph, registry, key) {
            // Unknown node or parameter: resolve_overrides names it below.
            None => Value::String(raw.to_owned()),
            Some(spec) => match typed_value(spec, raw) {
                Ok(value) => value,
                Err(message) => {
                    problems.push(OverrideProblem {
                        code: INVALID_OVERRIDE_VALUE,
                        key: key.to_owned(),
                        message: format!("--set {key}={raw}: {message}"),
                    });
                    continue;
                }
            },
        };
        overrides.insert(key.to_owned(), value);
    }
    let (_, unresolved) = resolve_overrides(graph, registry, &overrides);
    problems.extend(unresolved);
    if problems.is_empty() {
        Ok(overrides)
    } else {
        Err(LocalError::InvalidOverrides(problems))
    }
}

/// The schema of the parameter an override key names, resolved as the runtime resolves it:
/// the part before the last `.` is a node id, else a node type.
fn param_spec<'a>(graph: &Graph, registry: &'a Registry, key: &str) -> Option<&'a ParamSpec> {
    let (target, param) = key.rsplit_once('.')?;
    let node: &GraphNode = graph
        .node(target)
        .or_else(|| graph.nodes.iter().find(|n| n.node_type == target))?;
    registry.get(&node.node_type)?.param(param)
}

/// `raw` as a value of `spec`'s type, checked against its range and options.
fn typed_value(spec: &ParamSpec, raw: &str) -> Result<Value, String> {
    let text = raw.trim();
    let kind = spec.param_type;
    let wrong = || format!("'{raw}' is not a valid {kind} (parameter '{}')", spec.name);
    let number = |s: &str| -> Option<Value> {
        let n: f64 = s.trim().parse().ok()?;
        Number::from_f64(n).map(Value::Number)
    };
    let value = match kind {
        ParamType::Int => Value::from(text.parse::<i64>().map_err(|_| wrong())?),
        ParamType::Float => number(text).ok_or_else(wrong)?,
        ParamType::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("{} (expected true or false)", wrong())),
        },
        ParamType::String | ParamType::Enum | ParamType::Color => Value::String(raw.to_owned()),
        ParamType::Vec3 => {
            let inner = text
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .unwrap_or(text);
            let parts: Option<Vec<Value>> = inner.split(',').map(number).collect();
            match parts {
                Some(parts) if parts.len() == 3 => Value::Array(parts),
                _ => return Err(format!("{} (expected three numbers: x,y,z)", wrong())),
            }
        }
    };
    match spec.check(&value) {
        None => Ok(value),
        Some(problem) => Err(problem.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_contracts::{starter_graph, Family};

    fn sets(items: &[&str]) -> Result<Map<String, Value>, LocalError> {
        let registry = Registry::builtin();
        let graph = starter_graph(Family::OrderLine, &registry);
        let items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        parse_sets(&graph, &registry, &items)
    }

    fn problems(err: LocalError) -> Vec<OverrideProblem> {
        match err {
            LocalError::InvalidOverrides(p) => p,
            other => panic!("expected invalid overrides, got {other:?}"),
        }
    }

    #[test]
    fn values_are_typed_by_the_parameter_schema() {
        let map = sets(&[
            "render.width=128",
            "render.still.height=96",
            "materials.use_file_materials=false",
            "materials.missing_policy=placeholder",
            "lighting.key_direction=1,-2,0.5",
            "camera.fov=40.5",
            "publish.naming_template={product}=x.{ext}",
        ])
        .expect("valid sets");
        assert_eq!(map["render.width"], Value::from(128));
        assert_eq!(map["render.still.height"], Value::from(96));
        assert_eq!(map["materials.use_file_materials"], Value::Bool(false));
        assert_eq!(map["materials.missing_policy"], "placeholder");
        assert_eq!(
            map["lighting.key_direction"],
            serde_json::json!([1.0, -2.0, 0.5])
        );
        assert_eq!(map["camera.fov"], serde_json::json!(40.5));
        assert_eq!(map["publish.naming_template"], "{product}=x.{ext}");
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let p = problems(
            sets(&[
                "render.width=wide",
                "render.width=0",
                "nosuch.width=1",
                "render.nosuch=1",
                "materials.use_file_materials=maybe",
                "materials.missing_policy=ignore",
                "no-equals-sign",
            ])
            .expect_err("invalid"),
        );
        let codes: Vec<(&str, &str)> = p.iter().map(|p| (p.code, p.key.as_str())).collect();
        assert!(
            codes.contains(&(INVALID_OVERRIDE_VALUE, "render.width")),
            "{p:?}"
        );
        assert!(
            codes.contains(&("unknown_override_node", "nosuch.width")),
            "{p:?}"
        );
        assert!(
            codes.contains(&("unknown_override_param", "render.nosuch")),
            "{p:?}"
        );
        assert!(
            codes.contains(&(INVALID_OVERRIDE_VALUE, "materials.use_file_materials")),
            "{p:?}"
        );
        assert!(
            codes.contains(&(INVALID_OVERRIDE_VALUE, "materials.missing_policy")),
            "{p:?}"
        );
        assert!(codes.contains(&(INVALID_SET, "no-equals-sign")), "{p:?}");
        let wide = p
            .iter()
            .find(|p| p.message.contains("wide"))
            .expect("wrong type named");
        assert!(wide.message.contains("int"), "{}", wide.message);
        assert!(
            p.iter().any(|p| p.message.contains("render.width=0")),
            "out of range named: {p:?}"
        );
    }
}
