//! The part tree: the manifest's node paths as a tree of groups with part instances as
//! leaves, a text filter over name, key and material, and the flat list of visible rows the
//! panel draws (only the rows in view are laid out, so 5,000 parts cost what 40 do).

use std::collections::{BTreeSet, HashMap};

use workflow_engine::manifest::Manifest;

use super::model::{PartMaterialView, SourceKind};

/// One node of the tree (a segment of the node paths).
#[derive(Debug, Clone, Default)]
pub struct TreeNode {
    pub label: String,
    pub parent: Option<usize>,
    pub depth: usize,
    pub children: Vec<usize>,
    /// Part instances at exactly this node (several for GPU instancing).
    pub parts: Vec<usize>,
    /// Part instances in this subtree.
    pub total: usize,
    /// Missing ones in this subtree.
    pub missing: usize,
}

/// A drawn row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRow {
    Group { node: usize, depth: usize },
    Part { part: usize, depth: usize },
}

#[derive(Debug, Clone, Default)]
pub struct PartTree {
    pub nodes: Vec<TreeNode>,
    pub roots: Vec<usize>,
    /// Per part: the tree node it hangs from.
    pub node_of_part: Vec<usize>,
    /// Per part: the name its row shows (the last path segment, or a readable stand-in for
    /// an exporter's placeholder such as `NONE[3]`; the part key itself never changes).
    pub part_labels: Vec<String>,
    /// Lower-cased searchable text per part (name, key, mesh), without the material.
    search_base: Vec<String>,
    /// Lower-cased material and source per part (refreshed on every resolution).
    search_material: Vec<String>,
}

/// Whether a node-path segment is a CAD exporter's placeholder rather than a name: STEP files
/// whose products are all called `NONE` (pipe-flange-style exports) come out of the converter
/// as `NONE`, `NONE[1]`, … (the part key's sibling suffix).
pub fn is_placeholder_name(segment: &str) -> bool {
    let base = match segment.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => segment,
    };
    let base = base.trim();
    base.is_empty() || base.eq_ignore_ascii_case("none")
}

/// A readable stand-in for a placeholder-named part: the solid's (mesh) name, else the
/// product's name when it is the only placeholder part, else `body N` (N counts placeholder
/// parts in manifest order, so it follows the file like the key does).
fn part_label(mesh_name: Option<&str>, product: &str, n: usize, of: usize) -> String {
    match mesh_name.map(str::trim).filter(|m| !is_placeholder_name(m)) {
        Some(m) => m.to_owned(),
        None if of == 1 && !product.trim().is_empty() => product.trim().to_owned(),
        None => format!("body {n}"),
    }
}

impl PartTree {
    pub fn build(manifest: &Manifest) -> Self {
        Self::build_named(manifest, "")
    }

    /// As [`PartTree::build`], with the product's name for readable stand-ins of placeholder
    /// names (see [`is_placeholder_name`]).
    pub fn build_named(manifest: &Manifest, product: &str) -> Self {
        let mut tree = PartTree::default();
        let placeholder_parts = manifest
            .parts
            .iter()
            .filter(|p| is_placeholder_name(p.node_path.last().unwrap_or(&p.part_key)))
            .count();
        // Instances of one node share its stand-in name.
        let mut node_labels: HashMap<usize, String> = HashMap::new();
        let mut placeholder_seen = 0;
        let mut placeholder_groups = 0;
        let mut index: HashMap<(Option<usize>, String), usize> = HashMap::new();
        for (i, part) in manifest.parts.iter().enumerate() {
            let mut parent: Option<usize> = None;
            let segments: &[String] = if part.node_path.is_empty() {
                std::slice::from_ref(&part.part_key)
            } else {
                &part.node_path
            };
            for (depth, seg) in segments.iter().enumerate() {
                let key = (parent, seg.clone());
                let node = match index.get(&key) {
                    Some(&n) => n,
                    None => {
                        let n = tree.nodes.len();
                        let label = if is_placeholder_name(seg) && depth + 1 < segments.len() {
                            // An unnamed assembly level: number it, keep the key's segment.
                            placeholder_groups += 1;
                            format!("assembly {placeholder_groups}")
                        } else {
                            seg.clone()
                        };
                        tree.nodes.push(TreeNode {
                            label,
                            parent,
                            depth,
                            ..Default::default()
                        });
                        match parent {
                            Some(p) => tree.nodes[p].children.push(n),
                            None => tree.roots.push(n),
                        }
                        index.insert(key, n);
                        n
                    }
                };
                parent = Some(node);
            }
            let node = parent.unwrap_or(0);
            tree.nodes[node].parts.push(i);
            tree.node_of_part.push(node);
            let mut cur = Some(node);
            while let Some(n) = cur {
                tree.nodes[n].total += 1;
                cur = tree.nodes[n].parent;
            }
            let own = segments.last().map(String::as_str).unwrap_or("");
            let label = if !is_placeholder_name(own) {
                own.to_owned()
            } else if let Some(l) = node_labels.get(&node) {
                l.clone()
            } else {
                placeholder_seen += 1;
                let l = part_label(
                    part.mesh_name.as_deref(),
                    product,
                    placeholder_seen,
                    placeholder_parts,
                );
                // A lone part is drawn as its node's row: the node shows the readable name too.
                tree.nodes[node].label = l.clone();
                node_labels.insert(node, l.clone());
                l
            };
            tree.search_base.push(
                format!(
                    "{}\n{}\n{}\n{}",
                    label,
                    segments.last().map(String::as_str).unwrap_or(""),
                    part.part_key,
                    part.mesh_name.as_deref().unwrap_or("")
                )
                .to_lowercase(),
            );
            tree.part_labels.push(label);
        }
        tree
    }

    /// Recounts missing parts per group and refreshes the material search text.
    pub fn update_missing(&mut self, views: &[PartMaterialView]) {
        for n in &mut self.nodes {
            n.missing = 0;
        }
        self.search_material = views
            .iter()
            .map(|v| format!("{}\n{}", v.material, v.source.label()).to_lowercase())
            .collect();
        for (part, v) in views.iter().enumerate() {
            if v.source != SourceKind::Missing {
                continue;
            }
            let mut cur = self.node_of_part.get(part).copied();
            while let Some(n) = cur {
                self.nodes[n].missing += 1;
                cur = self.nodes[n].parent;
            }
        }
    }

    /// Whether part `i` matches every whitespace-separated word of `query` (lower-case) in
    /// its name, key, mesh, material or source (`missing`, `assigned`, `rule`, `file`).
    pub fn matches(&self, part: usize, words: &[String]) -> bool {
        let base = self.search_base.get(part).map(String::as_str).unwrap_or("");
        let mat = self
            .search_material
            .get(part)
            .map(String::as_str)
            .unwrap_or("");
        words.iter().all(|w| base.contains(w) || mat.contains(w))
    }

    /// The tree nodes from the root down to the node of `part`.
    pub fn ancestors_of_part(&self, part: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.node_of_part.get(part).copied();
        while let Some(n) = cur {
            out.push(n);
            cur = self.nodes[n].parent;
        }
        out.reverse();
        out
    }

    /// The rows to draw. A node with one part and no children is drawn as that part.
    /// `shown(part)` filters; with `filtering`, groups without a shown part disappear and the
    /// rest are expanded.
    pub fn rows(
        &self,
        expanded: &BTreeSet<usize>,
        filtering: bool,
        shown: &dyn Fn(usize) -> bool,
    ) -> Vec<TreeRow> {
        // Which nodes have a shown part below them.
        let mut keep = vec![!filtering; self.nodes.len()];
        if filtering {
            for (part, &node) in self.node_of_part.iter().enumerate() {
                if shown(part) {
                    let mut cur = Some(node);
                    while let Some(n) = cur {
                        if keep[n] {
                            break;
                        }
                        keep[n] = true;
                        cur = self.nodes[n].parent;
                    }
                }
            }
        }
        let mut rows = Vec::new();
        let mut stack: Vec<(usize, usize)> = self.roots.iter().rev().map(|&r| (r, 0)).collect();
        while let Some((n, depth)) = stack.pop() {
            if !keep[n] {
                continue;
            }
            let node = &self.nodes[n];
            if node.children.is_empty() && node.parts.len() == 1 {
                if shown(node.parts[0]) {
                    rows.push(TreeRow::Part {
                        part: node.parts[0],
                        depth,
                    });
                }
                continue;
            }
            rows.push(TreeRow::Group { node: n, depth });
            if !(filtering || expanded.contains(&n)) {
                continue;
            }
            for &c in node.children.iter().rev() {
                stack.push((c, depth + 1));
            }
            // Parts at this node come before its children: push them last.
            let at_node: Vec<TreeRow> = node
                .parts
                .iter()
                .filter(|&&p| shown(p))
                .map(|&part| TreeRow::Part {
                    part,
                    depth: depth + 1,
                })
                .collect();
            rows.extend(at_node);
        }
        rows
    }

    /// Groups expanded by default: the first `levels` levels.
    pub fn default_expanded(&self, levels: usize) -> BTreeSet<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.depth < levels)
            .map(|(i, _)| i)
            .collect()
    }

    /// Every part in the subtree of `node`.
    pub fn parts_under(&self, node: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if let Some(t) = self.nodes.get(n) {
                out.extend(&t.parts);
                stack.extend(&t.children);
            }
        }
        out.sort_unstable();
        out
    }
}

/// Splits a filter query into lower-case words.
pub fn query_words(query: &str) -> Vec<String> {
    query.split_whitespace().map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_engine::manifest::PartEntry;
    use workflow_engine::scene::Aabb;

    fn part(path: &[&str], key: &str) -> PartEntry {
        PartEntry {
            part_key: key.into(),
            node_path: path.iter().map(|s| s.to_string()).collect(),
            node: 0,
            mesh: 0,
            mesh_name: None,
            material_slots: Vec::new(),
            bounds: Aabb::EMPTY,
            triangle_count: 1,
            instance_index: None,
            mesh_instance: 0,
            hidden: false,
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            parts: vec![
                part(&["asm", "bolt"], "asm/bolt"),
                part(&["asm", "bolt[1]"], "asm/bolt[1]"),
                part(&["asm", "sub", "nut"], "asm/sub/nut"),
                part(&["lone"], "lone"),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn tree_groups_paths_and_lists_lone_parts_as_rows() {
        let tree = PartTree::build(&manifest());
        assert_eq!(tree.roots.len(), 2);
        let all = tree.default_expanded(10);
        let rows = tree.rows(&all, false, &|_| true);
        // asm (group), bolt, bolt[1], sub (group), nut, lone
        assert_eq!(rows.len(), 6);
        assert!(matches!(rows[0], TreeRow::Group { depth: 0, .. }));
        assert_eq!(rows[5], TreeRow::Part { part: 3, depth: 0 });
        let collapsed = tree.rows(&BTreeSet::new(), false, &|_| true);
        assert_eq!(collapsed.len(), 2);
        assert_eq!(tree.nodes[tree.roots[0]].total, 3);
    }

    #[test]
    fn placeholder_names_get_readable_labels_and_keep_their_keys() {
        assert!(is_placeholder_name("NONE"));
        assert!(is_placeholder_name("NONE[12]"));
        assert!(is_placeholder_name("none"));
        assert!(!is_placeholder_name("NONE-flange"));
        assert!(!is_placeholder_name("bolt[1]"));
        let mut named = part(&["NONE[1]"], "NONE[1]");
        named.mesh_name = Some("flange solid".into());
        let m = Manifest {
            parts: vec![
                part(&["NONE"], "NONE"),
                named,
                part(&["NONE[2]"], "NONE[2]"),
            ],
            ..Default::default()
        };
        let tree = PartTree::build_named(&m, "pipe-flange");
        assert_eq!(tree.part_labels, ["body 1", "flange solid", "body 3"]);
        let rows = tree.rows(&BTreeSet::new(), false, &|_| true);
        assert_eq!(rows.len(), 3, "lone parts stay rows: {rows:?}");
        assert!(tree.matches(0, &query_words("body")));
        assert!(
            tree.matches(0, &query_words("none")),
            "the key still matches"
        );
        // One unnamed body: the product's name.
        let one = Manifest {
            parts: vec![part(&["NONE"], "NONE")],
            ..Default::default()
        };
        assert_eq!(
            PartTree::build_named(&one, "pipe-flange").part_labels,
            ["pipe-flange"]
        );
        // An unnamed assembly level is numbered.
        let asm = Manifest {
            parts: vec![part(&["NONE", "bolt"], "NONE/bolt")],
            ..Default::default()
        };
        let tree = PartTree::build_named(&asm, "x");
        assert_eq!(tree.nodes[tree.roots[0]].label, "assembly 1");
        assert_eq!(tree.part_labels, ["bolt"]);
    }

    #[test]
    fn filtering_keeps_ancestors_of_matches_only() {
        let tree = PartTree::build(&manifest());
        let words = query_words("NUT");
        let rows = tree.rows(&BTreeSet::new(), true, &|p| tree.matches(p, &words));
        let parts: Vec<usize> = rows
            .iter()
            .filter_map(|r| match r {
                TreeRow::Part { part, .. } => Some(*part),
                _ => None,
            })
            .collect();
        assert_eq!(parts, vec![2]);
        assert_eq!(rows.len(), 3, "asm, sub, nut: {rows:?}");
        assert_eq!(tree.ancestors_of_part(2).len(), 3);
        assert_eq!(tree.parts_under(tree.roots[0]), vec![0, 1, 2]);
    }
}
