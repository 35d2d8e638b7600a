//! Fuzzy search over node definitions: label, type, module key, port types and description,
//! with matches in the label and type ranked above matches in the description.

use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher as _;
use workflow_contracts::{Family, NodeDefinition, PortType, Registry};

/// Which port a candidate must have to be offered (e.g. when a wire is dropped on the canvas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortFilter {
    Any,
    /// The node needs an input that accepts this type.
    Accepts(PortType),
    /// The node needs an output of a type that this input accepts.
    Produces(PortType),
}

impl PortFilter {
    pub fn admits(self, def: &NodeDefinition) -> bool {
        match self {
            PortFilter::Any => true,
            PortFilter::Accepts(t) => def
                .input_contract
                .iter()
                .any(|p| t.connects_to(p.port_type)),
            PortFilter::Produces(t) => def
                .output_contract
                .iter()
                .any(|p| p.port_type.connects_to(t)),
        }
    }
}

/// Definitions allowed in `family` that pass `filter`, best match for `query` first
/// (catalog order when the query is empty).
pub fn rank<'r>(
    registry: &'r Registry,
    query: &str,
    family: Option<Family>,
    filter: PortFilter,
) -> Vec<&'r NodeDefinition> {
    let matcher = SkimMatcherV2::default().ignore_case();
    let query = query.trim();
    let mut hits: Vec<(i64, usize, &NodeDefinition)> = registry
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, d)| family.is_none_or(|f| d.allows(f)) && filter.admits(d))
        .filter_map(|(i, d)| {
            if query.is_empty() {
                return Some((0, i, d));
            }
            let ports: String = d
                .input_contract
                .iter()
                .chain(&d.output_contract)
                .map(|p| p.port_type.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let fields = [
                (d.label.as_str(), 4),
                (d.node_type.as_str(), 4),
                (d.module_key.as_str(), 2),
                (ports.as_str(), 2),
                (d.description.as_str(), 1),
            ];
            fields
                .iter()
                .filter_map(|(text, weight)| matcher.fuzzy_match(text, query).map(|s| s * weight))
                .max()
                .map(|score| (score, i, d))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    hits.into_iter().map(|(_, _, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_label_type_port_and_typo() {
        let registry = Registry::builtin();
        let top = |q: &str| {
            rank(&registry, q, Some(Family::OrderLine), PortFilter::Any)
                .first()
                .map(|d| d.node_type.clone())
        };
        assert_eq!(top("turntable").as_deref(), Some("render.turntable"));
        assert_eq!(top("rndr stil").as_deref(), Some("render.still"));
        assert_eq!(top("camera").as_deref(), Some("scene.camera"));
        // cad_file nodes never appear in an order_line search.
        assert!(rank(
            &registry,
            "import",
            Some(Family::OrderLine),
            PortFilter::Any
        )
        .iter()
        .all(|d| d.allows(Family::OrderLine)));
    }

    #[test]
    fn port_filter_keeps_only_wireable_nodes() {
        let registry = Registry::builtin();
        let takes_image = rank(
            &registry,
            "",
            Some(Family::OrderLine),
            PortFilter::Accepts(PortType::Image),
        );
        assert_eq!(
            takes_image
                .iter()
                .map(|d| d.node_type.as_str())
                .collect::<Vec<_>>(),
            ["output.publish"]
        );
        let makes_scene = rank(
            &registry,
            "",
            Some(Family::OrderLine),
            PortFilter::Produces(PortType::Scene),
        );
        assert!(makes_scene.iter().any(|d| d.node_type == "scene.camera"));
        assert!(makes_scene.iter().all(|d| d.node_type != "render.still"));
    }
}
