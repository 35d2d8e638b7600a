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
    /// Lower-cased searchable text per part (name, key, mesh), without the material.
    search_base: Vec<String>,
    /// Lower-cased material and source per part (refreshed on every resolution).
    search_material: Vec<String>,
}

impl PartTree {
    pub fn build(manifest: &Manifest) -> Self {
        let mut tree = PartTree::default();
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
                        tree.nodes.push(TreeNode {
                            label: seg.clone(),
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
            tree.search_base.push(
                format!(
                    "{}\n{}\n{}",
                    segments.last().map(String::as_str).unwrap_or(""),
                    part.part_key,
                    part.mesh_name.as_deref().unwrap_or("")
                )
                .to_lowercase(),
            );
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
