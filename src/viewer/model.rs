//! What the viewer has open: the scene and its manifest (decoded off the UI thread), the
//! material library, the product's material map being repaired (with undo/redo), and the
//! resolution of that map — computed by the engine's one `resolve_materials`, exactly as the
//! render modules do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use workflow_engine::manifest::{extract_manifest, Manifest, ManifestParams};
use workflow_engine::materials::{
    resolve_materials, MaterialLibrary, MaterialMap, MaterialResolution, MaterialSource,
    MissingPolicy, NameRule, PbrMaterial, ResolveOptions,
};
use workflow_engine::render::scene_builder::{prepare_scene, Grouping, PreparedScene};
use workflow_engine::scene::{Aabb, Scene};
use workflow_engine::{import_gltf_bytes, ImportParams};

use super::part_tree::PartTree;

/// Placeholder colour of missing parts: `material.resolve`'s default.
pub const PLACEHOLDER_COLOR: &str = "#ff00ff";

/// Where the open model came from.
#[derive(Debug, Clone, PartialEq)]
pub enum DocSource {
    /// A server product: its material map can be saved back.
    Product { id: String, name: String },
    /// A run artifact (GLB).
    Artifact { id: String, title: String },
    /// A local file or bytes handed over by another view.
    File { name: String },
}

impl DocSource {
    pub fn title(&self) -> &str {
        match self {
            DocSource::Product { name, .. } => name,
            DocSource::Artifact { title, .. } => title,
            DocSource::File { name } => name,
        }
    }
    pub fn product_id(&self) -> Option<&str> {
        match self {
            DocSource::Product { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// How long each loading step took (the bench and the status line report them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadTimings {
    pub decode_ms: f64,
    pub manifest_ms: f64,
    pub resolve_ms: f64,
    pub prepare_ms: f64,
}

impl LoadTimings {
    pub fn total_ms(&self) -> f64 {
        self.decode_ms + self.manifest_ms + self.resolve_ms + self.prepare_ms
    }
}

/// The viewer's material resolution: the engine's, plus the map entries it had to leave out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub resolution: MaterialResolution,
    /// Map entries naming materials that are not in the library (left out, listed).
    pub unknown: Vec<String>,
}

/// The options the viewer resolves with: `material.resolve`'s defaults, except that missing
/// parts get the placeholder (the viewer must show them, not fail).
pub fn view_options(use_file_materials: bool) -> ResolveOptions {
    ResolveOptions {
        missing_policy: MissingPolicy::Placeholder,
        placeholder_color: PLACEHOLDER_COLOR.to_owned(),
        use_file_materials,
    }
}

/// Resolves `map` for display. Entries naming unknown materials are left out and listed
/// instead of failing the whole view.
pub fn resolve_for_view(
    manifest: &Manifest,
    library: &MaterialLibrary,
    map: &MaterialMap,
    use_file_materials: bool,
) -> Resolved {
    let mut clean = map.clone();
    let mut unknown = Vec::new();
    clean.assignments.retain(|key, material| {
        let ok = library.get(material).is_some();
        if !ok {
            unknown.push(format!("{key} -> {material}"));
        }
        ok
    });
    clean.rules.retain(|r| {
        let ok = library.get(&r.material).is_some();
        if !ok {
            unknown.push(format!("rule {} -> {}", r.pattern, r.material));
        }
        ok
    });
    let resolution =
        resolve_materials(manifest, library, &clean, &view_options(use_file_materials))
            .unwrap_or_else(|_| MaterialResolution::file_preview(manifest));
    Resolved {
        resolution,
        unknown,
    }
}

/// A decoded model ready to become a [`ViewerDoc`] (made on a background thread).
pub struct LoadedDoc {
    pub source: DocSource,
    pub scene: Arc<Scene>,
    pub manifest: Arc<Manifest>,
    pub library: MaterialLibrary,
    pub map: MaterialMap,
    /// The map's server version (`None`: not saved anywhere).
    pub version: Option<i64>,
    pub resolved: Resolved,
    pub prepared: PreparedScene,
    pub timings: LoadTimings,
    /// Things the user should know about the model (e.g. the server's manifest disagrees).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for LoadedDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedDoc")
            .field("source", &self.source)
            .field("parts", &self.manifest.parts.len())
            .finish_non_exhaustive()
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Decodes GLB/glTF bytes the way `order.load_product_scene` does (same import parameters,
/// same manifest parameters), resolves `map` and prepares the GPU batches.
pub fn load_glb(
    bytes: &[u8],
    source: DocSource,
    library: MaterialLibrary,
    map: MaterialMap,
    version: Option<i64>,
) -> Result<LoadedDoc, String> {
    let t = Instant::now();
    let scene = import_gltf_bytes(bytes, &ImportParams::default())
        .map_err(|e| format!("{}: {e}", source.title()))?;
    let decode_ms = ms(t);
    load_scene(scene, decode_ms, source, library, map, version)
}

/// [`load_glb`] for a scene already imported (local files through `import_file`).
pub fn load_scene(
    scene: Scene,
    decode_ms: f64,
    source: DocSource,
    library: MaterialLibrary,
    map: MaterialMap,
    version: Option<i64>,
) -> Result<LoadedDoc, String> {
    let t = Instant::now();
    let manifest = extract_manifest(&scene, &ManifestParams::default())
        .map_err(|e| format!("{}: {e}", source.title()))?;
    let manifest_ms = ms(t);
    let t = Instant::now();
    let resolved = resolve_for_view(&manifest, &library, &map, true);
    let resolve_ms = ms(t);
    let t = Instant::now();
    let prepared = prepare_scene(&scene, &manifest, &resolved.resolution, Grouping::PerPart);
    let prepare_ms = ms(t);
    Ok(LoadedDoc {
        source,
        scene: Arc::new(scene),
        manifest: Arc::new(manifest),
        library,
        map,
        version,
        resolved,
        prepared,
        timings: LoadTimings {
            decode_ms,
            manifest_ms,
            resolve_ms,
            prepare_ms,
        },
        warnings: Vec::new(),
    })
}

/// Compares the part keys the server's stored manifest lists with the keys of the GLB as
/// the viewer (and `order.load_product_scene`) reads it; a mismatch means the map may name
/// keys a render will not see.
pub fn manifest_mismatch(server_keys: &[String], manifest: &Manifest) -> Option<String> {
    if server_keys.is_empty() {
        return None;
    }
    let ours: std::collections::BTreeSet<&str> =
        manifest.parts.iter().map(|p| p.part_key.as_str()).collect();
    let theirs: std::collections::BTreeSet<&str> = server_keys.iter().map(String::as_str).collect();
    if ours == theirs {
        return None;
    }
    let only_server = theirs.difference(&ours).count();
    let only_glb = ours.difference(&theirs).count();
    Some(format!(
        "The server's part manifest and the preview GLB disagree: {only_server} key(s) only in the manifest, {only_glb} only in the GLB (renders use the GLB's)"
    ))
}

/// Where a part's material comes from, for display and filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    Explicit,
    Rule { index: usize, pattern: String },
    File,
    Missing,
}

impl SourceKind {
    pub fn of(source: &MaterialSource) -> Self {
        match source {
            MaterialSource::Explicit => SourceKind::Explicit,
            MaterialSource::Rule { index, pattern } => SourceKind::Rule {
                index: *index,
                pattern: pattern.clone(),
            },
            MaterialSource::File | MaterialSource::Default => SourceKind::File,
            MaterialSource::Missing | MaterialSource::Placeholder => SourceKind::Missing,
        }
    }

    pub fn label(&self) -> String {
        match self {
            SourceKind::Explicit => "assigned".into(),
            SourceKind::Rule { index, pattern } => format!("rule {} `{pattern}`", index + 1),
            SourceKind::File => "file material".into(),
            SourceKind::Missing => "missing".into(),
        }
    }
}

/// One part's resolved material as the tree shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PartMaterialView {
    pub material: String,
    pub source: SourceKind,
    /// sRGB swatch colour.
    pub swatch: [u8; 4],
}

/// An open model with its material map under repair.
pub struct ViewerDoc {
    pub source: DocSource,
    pub scene: Arc<Scene>,
    pub manifest: Arc<Manifest>,
    pub library: MaterialLibrary,
    /// The working map.
    pub map: MaterialMap,
    /// The map as last loaded from or saved to the server.
    pub saved_map: MaterialMap,
    pub version: Option<i64>,
    pub use_file_materials: bool,
    pub resolved: Resolved,
    /// Per part (manifest order): what the tree shows.
    pub views: Vec<PartMaterialView>,
    /// Per mesh: how many part instances use it.
    pub mesh_instances: BTreeMap<usize, usize>,
    pub tree: PartTree,
    pub selection: BTreeSet<usize>,
    undo: Vec<MaterialMap>,
    redo: Vec<MaterialMap>,
    /// Bumped whenever `resolved` changes (the viewport restyles its drawables).
    pub generation: u64,
    pub timings: LoadTimings,
    pub warnings: Vec<String>,
}

/// Most undo steps kept.
const UNDO_LIMIT: usize = 200;

/// sRGB bytes of a linear colour.
pub fn srgb_bytes(c: [f32; 4]) -> [u8; 4] {
    let s = workflow_engine::render::scene_builder::linear_to_srgba(c);
    [s.r, s.g, s.b, s.a]
}

impl ViewerDoc {
    /// The document and the prepared GPU batches (for the viewport).
    pub fn from_loaded(loaded: LoadedDoc) -> (ViewerDoc, PreparedScene) {
        let mut mesh_instances = BTreeMap::new();
        for p in &loaded.manifest.parts {
            *mesh_instances.entry(p.mesh).or_insert(0) += 1;
        }
        let product = match &loaded.source {
            DocSource::File { name } => std::path::Path::new(name)
                .file_stem()
                .map_or(name.clone(), |s| s.to_string_lossy().into_owned()),
            other => other.title().to_owned(),
        };
        let tree = PartTree::build_named(&loaded.manifest, &product);
        let mut doc = ViewerDoc {
            source: loaded.source,
            scene: loaded.scene,
            manifest: loaded.manifest,
            library: loaded.library,
            saved_map: loaded.map.clone(),
            map: loaded.map,
            version: loaded.version,
            use_file_materials: true,
            resolved: loaded.resolved,
            views: Vec::new(),
            mesh_instances,
            tree,
            selection: BTreeSet::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            generation: 0,
            timings: loaded.timings,
            warnings: loaded.warnings,
        };
        doc.refresh_views();
        (doc, loaded.prepared)
    }

    fn refresh_views(&mut self) {
        let scene = &self.scene;
        self.views = self
            .manifest
            .parts
            .iter()
            .zip(&self.resolved.resolution.parts)
            .map(|(entry, pm)| {
                let source = SourceKind::of(&pm.source);
                let (material, swatch) = match (&source, &pm.material) {
                    (SourceKind::Missing, _) => ("— none —".to_owned(), [255, 0, 255, 255]),
                    (_, Some(m)) => (m.name.clone(), srgb_bytes(m.effective_color())),
                    (_, None) => {
                        let first = entry
                            .material_slots
                            .iter()
                            .find_map(|s| s.material_index)
                            .and_then(|i| scene.materials.get(i).map(|m| (i, m)));
                        match first {
                            Some((i, m)) => (
                                m.name
                                    .clone()
                                    .unwrap_or_else(|| format!("file material {i}")),
                                srgb_bytes(m.base_color),
                            ),
                            None => ("file material".to_owned(), [150, 150, 150, 255]),
                        }
                    }
                };
                PartMaterialView {
                    material,
                    source,
                    swatch,
                }
            })
            .collect();
        self.tree.update_missing(&self.views);
    }

    fn re_resolve(&mut self) {
        self.resolved = resolve_for_view(
            &self.manifest,
            &self.library,
            &self.map,
            self.use_file_materials,
        );
        self.generation += 1;
        self.refresh_views();
    }

    /// Replaces the library (fresh from the server) and re-resolves.
    pub fn set_library(&mut self, library: MaterialLibrary) {
        self.library = library;
        self.re_resolve();
    }

    pub fn set_use_file_materials(&mut self, on: bool) {
        if self.use_file_materials != on {
            self.use_file_materials = on;
            self.re_resolve();
        }
    }

    /// Applies an edit to the map as one undo step; a no-op edit records nothing.
    pub fn edit_map(&mut self, edit: impl FnOnce(&mut MaterialMap)) -> bool {
        let mut next = self.map.clone();
        edit(&mut next);
        if next == self.map {
            return false;
        }
        self.undo.push(std::mem::replace(&mut self.map, next));
        if self.undo.len() > UNDO_LIMIT {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.re_resolve();
        true
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) -> bool {
        let Some(prev) = self.undo.pop() else {
            return false;
        };
        self.redo.push(std::mem::replace(&mut self.map, prev));
        self.re_resolve();
        true
    }

    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        self.undo.push(std::mem::replace(&mut self.map, next));
        self.re_resolve();
        true
    }

    /// Replaces the working map with the server's (reload): the previous working map stays
    /// reachable through undo.
    pub fn replace_map(&mut self, map: MaterialMap, version: i64) {
        if map != self.map {
            self.undo
                .push(std::mem::replace(&mut self.map, map.clone()));
            self.redo.clear();
        }
        self.saved_map = map;
        self.version = Some(version);
        self.re_resolve();
    }

    /// The server stored `map` as `version`.
    pub fn mark_saved(&mut self, map: MaterialMap, version: i64) {
        self.saved_map = map;
        self.version = Some(version);
    }

    pub fn is_dirty(&self) -> bool {
        self.map != self.saved_map
    }

    /// Part indices (manifest order) without a material.
    pub fn missing(&self) -> Vec<usize> {
        self.views
            .iter()
            .enumerate()
            .filter(|(_, v)| v.source == SourceKind::Missing)
            .map(|(i, _)| i)
            .collect()
    }

    pub fn missing_count(&self) -> usize {
        self.resolved.resolution.missing.len()
    }

    /// Parts the map itself decides nothing for (no assignment, no rule): with file materials
    /// on they still render, from the file, so "nothing missing" alone would overstate the map.
    pub fn unmapped_count(&self) -> usize {
        self.views
            .iter()
            .filter(|v| matches!(v.source, SourceKind::File | SourceKind::Missing))
            .count()
    }

    pub fn part_key(&self, part: usize) -> Option<&str> {
        self.manifest.parts.get(part).map(|p| p.part_key.as_str())
    }

    /// Index of a part key.
    pub fn part_index(&self, key: &str) -> Option<usize> {
        self.manifest.parts.iter().position(|p| p.part_key == key)
    }

    /// Every part instance sharing a mesh with a selected part.
    pub fn mesh_siblings_of_selection(&self) -> BTreeSet<usize> {
        let meshes: BTreeSet<usize> = self
            .selection
            .iter()
            .filter_map(|&i| self.manifest.parts.get(i).map(|p| p.mesh))
            .collect();
        self.manifest
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| meshes.contains(&p.mesh))
            .map(|(i, _)| i)
            .collect()
    }

    /// World bounds of some parts.
    pub fn bounds_of(&self, parts: impl IntoIterator<Item = usize>) -> Aabb {
        let mut b = Aabb::EMPTY;
        for i in parts {
            if let Some(p) = self.manifest.parts.get(i) {
                b.merge(&p.bounds);
            }
        }
        b
    }

    pub fn bounds(&self) -> Aabb {
        self.manifest.bounds.unwrap_or(Aabb::EMPTY)
    }

    pub fn material(&self, name: &str) -> Option<&PbrMaterial> {
        self.library.get(name)
    }

    /// Which parts a new rule would catch, without changing anything.
    pub fn rule_preview(&self, pattern: &str, material: &str, at_top: bool) -> RulePreview {
        let pattern = pattern.trim();
        if pattern.is_empty() || self.library.get(material).is_none() {
            return RulePreview::default();
        }
        let mut candidate = self.map.clone();
        let rule = NameRule {
            pattern: pattern.to_owned(),
            material: material.to_owned(),
        };
        let index = if at_top {
            candidate.rules.insert(0, rule);
            0
        } else {
            candidate.rules.push(rule);
            candidate.rules.len() - 1
        };
        let after = resolve_for_view(
            &self.manifest,
            &self.library,
            &candidate,
            self.use_file_materials,
        );
        let mut preview = RulePreview::default();
        for (i, (entry, pm)) in self
            .manifest
            .parts
            .iter()
            .zip(&after.resolution.parts)
            .enumerate()
        {
            let path = entry.node_path.join("/");
            let matches = workflow_engine::materials::glob_match(pattern, &entry.part_key)
                || workflow_engine::materials::glob_match(pattern, &path);
            if !matches {
                continue;
            }
            preview.matching += 1;
            let caught = matches!(&pm.source, MaterialSource::Rule { index: j, .. } if *j == index);
            if caught {
                preview.caught.push(i);
                if self.views.get(i).map(|v| &v.source) == Some(&SourceKind::Missing) {
                    preview.fixes_missing += 1;
                }
            } else {
                preview.decided_elsewhere += 1;
            }
        }
        preview
    }
}

/// What [`ViewerDoc::rule_preview`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePreview {
    /// Parts the rule would decide (it is their first matching rule and they have no
    /// explicit assignment), in manifest order.
    pub caught: Vec<usize>,
    /// Parts the pattern matches at all.
    pub matching: usize,
    /// Matching parts decided by an explicit assignment or an earlier rule.
    pub decided_elsewhere: usize,
    /// Caught parts that are missing a material now.
    pub fixes_missing: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_engine::materials::default_library;

    /// `WORKFLOW_FIXTURES`, else `../shared/fixtures` beside the checkout, else
    /// `/work/shared/fixtures` (as the integration tests resolve it).
    fn fixture(name: &str) -> Vec<u8> {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let base = std::env::var("WORKFLOW_FIXTURES")
            .map(std::path::PathBuf::from)
            .ok()
            .or_else(|| Some(here.join("../shared/fixtures")).filter(|p| p.exists()))
            .unwrap_or_else(|| std::path::PathBuf::from("/work/shared/fixtures"));
        let path = base.join("gltf").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn open(name: &str) -> ViewerDoc {
        let loaded = load_glb(
            &fixture(name),
            DocSource::File { name: name.into() },
            default_library(),
            MaterialMap::default(),
            None,
        )
        .expect("loads");
        ViewerDoc::from_loaded(loaded).0
    }

    #[test]
    fn malformed_bytes_are_an_error_not_a_panic() {
        for bytes in [&b""[..], b"glTF\x02\0\0\0", b"{not json"] {
            let err = load_glb(
                bytes,
                DocSource::File {
                    name: "x.glb".into(),
                },
                default_library(),
                MaterialMap::default(),
                None,
            )
            .expect_err("malformed");
            assert!(err.contains("x.glb"), "{err}");
        }
    }

    #[test]
    fn parts_without_materials_are_missing_and_edits_undo() {
        let mut doc = open("SimpleInstancing.glb");
        assert_eq!(doc.missing_count(), 125);
        let key = doc.manifest.parts[3].part_key.clone();
        assert!(doc.edit_map(|m| {
            m.assignments.insert(key.clone(), "steel_polished".into());
        }));
        assert_eq!(doc.missing_count(), 124);
        assert_eq!(doc.views[3].source, SourceKind::Explicit);
        assert!(doc.is_dirty());
        assert!(doc.undo());
        assert_eq!(doc.missing_count(), 125);
        assert!(doc.redo());
        assert_eq!(doc.missing_count(), 124);
        // An edit that changes nothing is not an undo step.
        assert!(!doc.edit_map(|m| {
            m.assignments.insert(key.clone(), "steel_polished".into());
        }));
    }

    #[test]
    fn rule_preview_counts_what_the_rule_would_decide() {
        let mut doc = open("SimpleInstancing.glb");
        let first = doc.manifest.parts[0].part_key.clone();
        doc.edit_map(|m| {
            m.assignments.insert(first.clone(), "chrome".into());
        });
        let preview = doc.rule_preview("*", "brass", false);
        assert_eq!(preview.matching, 125);
        assert_eq!(preview.caught.len(), 124);
        assert_eq!(preview.decided_elsewhere, 1);
        assert_eq!(preview.fixes_missing, 124);
        // Unknown material or empty pattern: nothing.
        assert_eq!(doc.rule_preview("*", "unobtainium", false).matching, 0);
        assert_eq!(doc.rule_preview("  ", "brass", false).matching, 0);
        // Previewing changes nothing.
        assert_eq!(doc.missing_count(), 124);
    }

    #[test]
    fn unknown_materials_in_a_map_are_listed_not_fatal() {
        let loaded = load_glb(
            &fixture("Box.glb"),
            DocSource::File {
                name: "Box.glb".into(),
            },
            default_library(),
            MaterialMap {
                rules: vec![NameRule {
                    pattern: "*".into(),
                    material: "gone".into(),
                }],
                ..Default::default()
            },
            None,
        )
        .expect("loads");
        assert_eq!(loaded.resolved.unknown.len(), 1);
        assert_eq!(loaded.resolved.resolution.parts.len(), 1);
    }

    #[test]
    fn a_server_manifest_that_disagrees_is_reported() {
        let doc = open("CesiumMilkTruck.glb");
        let keys: Vec<String> = doc
            .manifest
            .parts
            .iter()
            .map(|p| p.part_key.clone())
            .collect();
        assert_eq!(manifest_mismatch(&keys, &doc.manifest), None);
        assert_eq!(manifest_mismatch(&[], &doc.manifest), None);
        let mut other = keys.clone();
        other[0] = "elsewhere".into();
        let w = manifest_mismatch(&other, &doc.manifest).expect("mismatch");
        assert!(w.contains("1 key(s) only in the manifest"), "{w}");
    }

    #[test]
    fn shared_meshes_count_their_instances() {
        let doc = open("CesiumMilkTruck.glb");
        assert!(doc.mesh_instances.values().any(|&n| n == 2));
    }
}
