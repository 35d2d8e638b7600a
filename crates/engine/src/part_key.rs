//! Stable, instance-aware part keys.
//!
//! A key is the node path (root → node) of display names joined by the separator. A display
//! name is the node's name, else its mesh's name, else `node`. Only same-named siblings get an
//! index suffix: the first keeps the bare name, later ones get `[1]`, `[2]`, … in file order, so
//! adding a differently named node never changes other keys. GPU instances append `@<index>`.
//! A key stored in the node's extras by our own export wins, so keys survive round trips.

use std::collections::{HashMap, HashSet};

use crate::scene::{PartInstance, Scene};

/// Display name of a node (name, else mesh name, else `node`).
pub fn display_name(scene: &Scene, node: usize) -> String {
    let Some(n) = scene.nodes.get(node) else {
        return "node".to_owned();
    };
    let name = n
        .name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            n.mesh
                .and_then(|m| scene.meshes.get(m))
                .and_then(|m| m.name.as_deref())
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or("node");
    name.trim().to_owned()
}

/// Path segments for every node: display name plus sibling suffix where needed.
pub fn node_segments(scene: &Scene) -> Vec<String> {
    let mut segments = vec![String::new(); scene.nodes.len()];
    let assign = |siblings: &[usize], segments: &mut Vec<String>| {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut used: HashSet<String> = HashSet::new();
        for &s in siblings {
            if s >= segments.len() {
                continue;
            }
            let name = display_name(scene, s);
            let count = seen.entry(name.clone()).or_insert(0);
            // A sibling literally named `x[1]` must not collide with the second `x`.
            let mut candidate = if *count == 0 {
                name.clone()
            } else {
                format!("{name}[{count}]")
            };
            while used.contains(&candidate) {
                *count += 1;
                candidate = format!("{name}[{count}]");
            }
            *count += 1;
            used.insert(candidate.clone());
            segments[s] = candidate;
        }
    };
    assign(&scene.roots, &mut segments);
    for n in scene.depth_first() {
        let kids = scene.nodes[n].children.clone();
        assign(&kids, &mut segments);
    }
    segments
}

/// Node path (root → node) as segment strings.
pub fn node_path(scene: &Scene, segments: &[String], node: usize) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        if path.len() > scene.nodes.len() {
            break;
        }
        path.push(segments.get(n).cloned().unwrap_or_default());
        cur = scene.nodes.get(n).and_then(|x| x.parent);
    }
    path.reverse();
    path
}

/// The part key of one part instance.
pub fn part_key(
    scene: &Scene,
    segments: &[String],
    part: &PartInstance,
    separator: &str,
) -> String {
    let stored = scene
        .nodes
        .get(part.node)
        .and_then(|n| n.stored_part_key.clone());
    let base = stored.unwrap_or_else(|| node_path(scene, segments, part.node).join(separator));
    match part.gpu_instance {
        Some(i) => format!("{base}@{i}"),
        None => base,
    }
}
