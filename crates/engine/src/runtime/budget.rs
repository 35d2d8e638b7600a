//! The render budget: how many pixels one render node may ask for (width × height × frames)
//! and how large one side or one turntable may be. A server sets it for its runs; it is
//! checked before anything runs (preflight and [`Runtime::check`](super::Runtime::check)), on
//! the effective parameters (defaults, node values, then overrides), so a graph, a legacy
//! preset or a dispatch override cannot get a render past it.

use super::params::{effective_params, NodeOverrides};
use serde::Serialize;
use serde_json::{json, Map, Value};
use workflow_contracts::{Graph, Registry};

/// Code of a render node whose parameters go over the budget.
pub const PIXEL_BUDGET_EXCEEDED: &str = "pixel_budget_exceeded";

/// Limits for one render node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RenderBudget {
    /// width × height × frames (1 for a still).
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_side: u32,
    /// Most turntable frames.
    pub max_frames: u32,
}

impl Default for RenderBudget {
    /// 1024² × 64 frames ≈ 67 Mpx: a 36-frame 1024² turntable or an 8192² still fit; a
    /// 720-frame 1024² turntable (about 0.75 GB of raw frames) does not.
    fn default() -> Self {
        RenderBudget {
            max_pixels: 1024 * 1024 * 64,
            max_side: 8192,
            max_frames: 720,
        }
    }
}

/// One render node over the budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetProblem {
    pub code: &'static str,
    pub node: String,
    pub node_type: String,
    /// The parameter to change (`width`, `height`, `frame_count`), when one alone is over
    /// its cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<&'static str>,
    pub width: u64,
    pub height: u64,
    pub frames: u64,
    pub pixels: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    pub budget: RenderBudget,
    pub message: String,
}

impl BudgetProblem {
    pub fn details(&self) -> Value {
        json!(self)
    }
}

fn count(params: &Map<String, Value>, name: &str) -> Option<u64> {
    let v = params.get(name)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Every render node of `graph` (a node with `width` and `height` parameters; `frame_count`
/// makes it a turntable) whose effective parameters go over `budget`. Nodes whose parameters
/// are invalid are left to validation. `inputs.product_id`, when given, is named in the
/// message.
pub fn check_render_budget(
    graph: &Graph,
    registry: &Registry,
    overrides: &NodeOverrides,
    inputs: &Map<String, Value>,
    budget: &RenderBudget,
) -> Vec<BudgetProblem> {
    let product_id = inputs
        .get("product_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut problems = Vec::new();
    for node in &graph.nodes {
        let Some(def) = registry.get(&node.node_type) else {
            continue;
        };
        if def.param("width").is_none() || def.param("height").is_none() {
            continue;
        }
        let Ok(params) = effective_params(def, node, overrides.get(&node.id)) else {
            continue;
        };
        let (Some(width), Some(height)) = (count(&params, "width"), count(&params, "height"))
        else {
            continue;
        };
        let turntable = def.param("frame_count").is_some();
        let frames = if turntable {
            count(&params, "frame_count").unwrap_or(1)
        } else {
            1
        };
        let pixels = width.saturating_mul(height).saturating_mul(frames);
        let (param, limit) = if width > u64::from(budget.max_side) {
            (
                Some("width"),
                format!(
                    "width {width} px is over this server's largest side of {} px",
                    budget.max_side
                ),
            )
        } else if height > u64::from(budget.max_side) {
            (
                Some("height"),
                format!(
                    "height {height} px is over this server's largest side of {} px",
                    budget.max_side
                ),
            )
        } else if frames > u64::from(budget.max_frames) {
            (
                Some("frame_count"),
                format!(
                    "{frames} frames are over this server's limit of {} frames",
                    budget.max_frames
                ),
            )
        } else if pixels > budget.max_pixels {
            (None, format!("{width} × {height} px × {frames} frame(s) = {pixels} px is over this server's pixel budget of {} px (width × height × frames)", budget.max_pixels))
        } else {
            continue;
        };
        let product = product_id
            .as_deref()
            .map_or(String::new(), |p| format!(" for product '{p}'"));
        problems.push(BudgetProblem {
            code: PIXEL_BUDGET_EXCEEDED,
            node: node.id.clone(),
            node_type: node.node_type.clone(),
            param,
            width,
            height,
            frames,
            pixels,
            product_id: product_id.clone(),
            budget: *budget,
            message: format!(
                "node '{}' ({}){product}: {limit}; lower the size or the frame count",
                node.id, node.node_type
            ),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_contracts::{starter_graph, Family};

    fn overrides(graph: &Graph, registry: &Registry, v: Value) -> NodeOverrides {
        let map = v.as_object().cloned().unwrap_or_default();
        let (o, problems) = super::super::params::resolve_overrides(graph, registry, &map);
        assert!(problems.is_empty(), "{problems:?}");
        o
    }

    #[test]
    fn starter_graphs_fit_the_default_budget() {
        let registry = Registry::builtin();
        for family in [Family::OrderLine, Family::CadFile] {
            let graph = starter_graph(family, &registry);
            let problems = check_render_budget(
                &graph,
                &registry,
                &NodeOverrides::new(),
                &Map::new(),
                &RenderBudget::default(),
            );
            assert!(problems.is_empty(), "{family:?}: {problems:?}");
        }
    }

    #[test]
    fn over_budget_renders_are_named_with_their_figures() {
        let registry = Registry::builtin();
        let mut graph = starter_graph(Family::OrderLine, &registry);
        let render = graph
            .nodes
            .iter_mut()
            .find(|n| n.node_type == "render.still")
            .expect("starter has a still");
        render.node_type = "render.turntable".into();
        render.params.clear();
        let id = render.id.clone();
        let inputs = json!({"product_id": "p-7"})
            .as_object()
            .cloned()
            .expect("obj");
        let budget = RenderBudget::default();
        // 2048² × 36 frames = 151 Mpx: each figure fits its cap, the product does not.
        let o = overrides(
            &graph,
            &registry,
            json!({"render.turntable.width": 2048, "render.turntable.height": 2048}),
        );
        let problems = check_render_budget(&graph, &registry, &o, &inputs, &budget);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert_eq!(
            (p.code, p.node.as_str(), p.param),
            (PIXEL_BUDGET_EXCEEDED, id.as_str(), None)
        );
        assert_eq!(
            (p.width, p.height, p.frames, p.pixels),
            (2048, 2048, 36, 2048 * 2048 * 36)
        );
        for part in ["p-7", "2048 × 2048", "36 frame", "67108864", &id] {
            assert!(p.message.contains(part), "{part}: {}", p.message);
        }
        assert_eq!(p.details()["budget"]["max_pixels"], json!(67108864));
        // One side over its cap names that parameter.
        let o = overrides(
            &graph,
            &registry,
            json!({"render.turntable.width": 16384, "render.turntable.frame_count": 2}),
        );
        let problems = check_render_budget(&graph, &registry, &o, &inputs, &budget);
        assert_eq!(problems[0].param, Some("width"));
        // Too many frames, even if small.
        let tight = RenderBudget {
            max_frames: 100,
            ..budget
        };
        let o = overrides(
            &graph,
            &registry,
            json!({"render.turntable.width": 16, "render.turntable.height": 16, "render.turntable.frame_count": 720}),
        );
        let problems = check_render_budget(&graph, &registry, &o, &Map::new(), &tight);
        assert_eq!(problems[0].param, Some("frame_count"));
        assert!(problems[0].product_id.is_none());
        // Within budget: nothing.
        let o = overrides(
            &graph,
            &registry,
            json!({"render.turntable.frame_count": 64}),
        );
        assert!(
            check_render_budget(&graph, &registry, &o, &inputs, &budget).is_empty(),
            "1024² × 64 is the budget itself"
        );
    }
}
