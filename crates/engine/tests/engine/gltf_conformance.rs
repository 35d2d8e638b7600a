//! Khronos' glTF-Validator test corpus (`fixtures/gltf-validator/`, 372 files, each beside
//! the reference validator's report) through the importer in-process, and bounded byte-level
//! mutations of our own fixtures: every valid file is read (a product, or `no_geometry`),
//! nothing panics, and an invalid file is refused with a code (and, for a JSON-level defect,
//! the pointer of the culprit) or accepted with a warning.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::common;
use workflow_engine::import::gltf::{import_gltf_slice, PANIC_MESSAGE};
use workflow_engine::{import_file, import_file_as, ImportError, ImportParams, Scene};

/// Extensions the spec makes optional to support, which a valid file may require; such a
/// file may be refused as `unsupported_gltf_extension` (listed in crates/engine/README.md).
const OPTIONAL_EXTENSIONS: [&str; 4] = [
    "EXT_texture_webp",
    "KHR_texture_basisu",
    "KHR_draco_mesh_compression",
    "EXT_meshopt_compression",
];

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            corpus_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("gltf" | "glb")
        ) {
            out.push(path);
        }
    }
}

/// `numErrors` of the reference validator's report beside `file`.
fn validator_errors(file: &Path) -> u64 {
    let mut report = file.as_os_str().to_owned();
    report.push(".report.json");
    let text = std::fs::read_to_string(&report).expect("every corpus file has its report");
    let json: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    json["issues"]["numErrors"]
        .as_u64()
        .expect("report has issues.numErrors")
}

fn draws(scene: &Scene) -> bool {
    scene.drawn_triangle_count() > 0
}

/// The importer on `path`, with any panic (ours or a dependency's, caught or not) reported
/// as `Err(message)`.
fn import_unpanicked(path: &Path) -> Result<Result<Scene, ImportError>, String> {
    let result = std::panic::catch_unwind(|| import_file(path, &ImportParams::default()))
        .map_err(|_| "panicked".to_owned())?;
    match &result {
        Err(e) if e.to_string().contains(PANIC_MESSAGE) => Err(format!("caught panic: {e}")),
        _ => Ok(result),
    }
}

#[test]
fn validator_corpus_is_read_judged_and_never_panics() {
    let root = common::fixtures().join("gltf-validator");
    let mut files = Vec::new();
    corpus_files(&root, &mut files);
    files.sort();
    assert_eq!(
        files.len(),
        372,
        "the corpus in {} is incomplete",
        root.display()
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |key: String| *tally.entry(key).or_default() += 1;
    for file in &files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let valid = validator_errors(file) == 0;
        let kind = if valid { "valid" } else { "invalid" };
        let result = match import_unpanicked(file) {
            Ok(result) => result,
            Err(panic) => {
                failures.push(format!("{name}: {panic}"));
                continue;
            }
        };
        if std::env::var_os("GLTF_CONFORMANCE_VERBOSE").is_some() {
            let outcome = match &result {
                Ok(scene) => format!(
                    "accepted, {} warnings {:?}",
                    scene.warnings.len(),
                    scene.warnings
                ),
                Err(e) => format!("[{}] {e}", e.code()),
            };
            eprintln!("{kind} {name}: {outcome}");
        }
        match (&result, valid) {
            (Ok(scene), _) if !draws(scene) => {
                failures.push(format!("{name}: accepted without geometry"));
            }
            (Ok(scene), true) => count(format!(
                "{kind}: accepted{}",
                if scene.warnings.is_empty() {
                    ""
                } else {
                    " with warnings"
                }
            )),
            (Ok(scene), false) => {
                if scene.warnings.is_empty() {
                    failures.push(format!("{name}: invalid file accepted without a warning"));
                } else {
                    count(format!("{kind}: accepted with warnings"));
                }
            }
            (Err(e), true) => {
                let optional = e.code() == "unsupported_gltf_extension"
                    && OPTIONAL_EXTENSIONS
                        .iter()
                        .any(|x| e.to_string().contains(x));
                // Security over conformance: a URI with a scheme (http:) is never fetched.
                let remote =
                    e.code() == "external_reference_refused" && e.to_string().contains("://");
                if e.code() == "no_geometry" || optional || remote {
                    count(format!("{kind}: refused {}", e.code()));
                } else {
                    failures.push(format!("{name}: valid file refused: [{}] {e}", e.code()));
                }
            }
            (Err(e), false) => {
                // A JSON-level defect names its culprit by pointer; container and syntax
                // errors name their byte/line instead.
                if e.code() == "malformed_gltf"
                    && e.pointer().is_none()
                    && !e.to_string().contains("GLB")
                    && !e.to_string().contains("JSON")
                    && !e.to_string().contains("empty")
                {
                    failures.push(format!("{name}: refusal names no culprit: {e}"));
                }
                count(format!("{kind}: refused {}", e.code()));
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "glTF-Validator corpus: {} files in {:.2} s",
        files.len(),
        elapsed.as_secs_f64()
    );
    for (key, n) in &tally {
        eprintln!("  {key}: {n}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The malformed fixtures are refused with a code, never a panic.
#[test]
fn malformed_fixtures_are_refused_without_panic() {
    let dir = common::fixtures().join("gltf/malformed");
    let mut files = Vec::new();
    corpus_files(&dir, &mut files);
    assert!(
        !files.is_empty(),
        "no malformed fixtures in {}",
        dir.display()
    );
    for file in files {
        let result = import_unpanicked(&file).unwrap_or_else(|p| panic!("{}: {p}", file.display()));
        let err = result
            .err()
            .unwrap_or_else(|| panic!("{} accepted", file.display()));
        assert_eq!(err.code(), "malformed_gltf", "{}: {err}", file.display());
    }
}

/// Deterministic xorshift: the same mutations on every run (a failure reproduces).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break readers: huge counts, negatives, fractions, NaN/Inf stand-ins.
const HOSTILE_NUMBERS: [&str; 9] = [
    "4294967295",
    "18446744073709551615",
    "-1",
    "-2147483648",
    "0.5",
    "1e308",
    "-0",
    "99999999999999999999999",
    "65536",
];

/// Replaces the `k`-th JSON number of `json` by `with`.
fn replace_number(json: &str, k: usize, with: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let mut seen = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = (c.is_ascii_digit() || c == b'-')
            && i > 0
            && matches!(bytes[i - 1], b':' | b'[' | b',' | b' ');
        if starts {
            let end = (i + 1..bytes.len())
                .find(|&j| !matches!(bytes[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                .unwrap_or(bytes.len());
            if seen == k {
                return Some(format!("{}{with}{}", &json[..i], &json[end..]));
            }
            seen += 1;
            i = end;
        } else {
            i += 1;
        }
    }
    None
}

/// A GLB's parts: (JSON text, BIN chunk).
fn split_glb(bytes: &[u8]) -> (String, Vec<u8>) {
    let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let json = String::from_utf8(bytes[20..20 + len].to_vec()).expect("utf-8 JSON");
    let bin = bytes.get(20 + len + 8..).unwrap_or(&[]).to_vec();
    (json, bin)
}

fn join_glb(json: &str, bin: &[u8]) -> Vec<u8> {
    let mut text = json.as_bytes().to_vec();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let mut out = b"glTF".to_vec();
    out.extend(2u32.to_le_bytes());
    out.extend(((12 + 8 + text.len() + 8 + bin.len()) as u32).to_le_bytes());
    out.extend((text.len() as u32).to_le_bytes());
    out.extend(b"JSON");
    out.extend(&text);
    out.extend((bin.len() as u32).to_le_bytes());
    out.extend(b"BIN\0");
    out.extend(bin);
    out
}

/// Mutation rounds per fixture (up to 4 variants each): bounded so the test stays a few
/// seconds in a debug build.
const ROUNDS: usize = 25;

/// Bounded property test: truncations, flipped bytes, hostile numbers in the JSON and
/// NaN/Inf/huge floats in the binary chunk of real GLBs never panic, in our code or a
/// dependency's; every outcome is a scene or an error with a code.
#[test]
fn mutated_fixtures_never_panic() {
    let started = Instant::now();
    let mut cases = 0;
    for (seed, name) in [
        "Box.glb",
        "BoxTextured.glb",
        "SimpleInstancing.glb",
        "NegativeScaleTest.glb",
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = std::fs::read(common::gltf(name)).expect("fixture");
        let (json, bin) = split_glb(&bytes);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed as u64);
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for _ in 0..ROUNDS {
            variants.push(bytes[..rng.below(bytes.len())].to_vec());
            let mut flipped = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(flipped.len());
                flipped[i] ^= 1 << rng.below(8);
            }
            variants.push(flipped);
            let k = rng.below(200);
            let with = HOSTILE_NUMBERS[rng.below(HOSTILE_NUMBERS.len())];
            if let Some(changed) = replace_number(&json, k, with) {
                variants.push(join_glb(&changed, &bin));
            }
            let mut poisoned = bin.clone();
            if poisoned.len() >= 4 {
                let at = rng.below(poisoned.len() / 4) * 4;
                let value = [
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::MAX,
                    -1.0e30,
                ][rng.below(5)];
                poisoned[at..at + 4].copy_from_slice(&value.to_le_bytes());
                variants.push(join_glb(&json, &poisoned));
            }
        }
        for (i, case) in variants.iter().enumerate() {
            cases += 1;
            let result = std::panic::catch_unwind(|| import_gltf_slice(case, None))
                .unwrap_or_else(|_| panic!("{name} variant {i}: panicked"));
            if let Err(e) = result {
                assert!(
                    !e.to_string().contains(PANIC_MESSAGE),
                    "{name} variant {i}: caught panic: {e}"
                );
                assert!(!e.code().is_empty());
            }
        }
    }
    eprintln!(
        "{cases} mutated GLBs in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// Box.glb with its JSON changed by `edit`, and (optionally) its positions poisoned.
fn box_variant(edit: impl FnOnce(&mut serde_json::Value), poison: Option<f32>) -> Vec<u8> {
    let bytes = std::fs::read(common::gltf("Box.glb")).expect("Box.glb");
    let (json, mut bin) = split_glb(&bytes);
    let mut doc: serde_json::Value = serde_json::from_str(json.trim_end()).expect("json");
    edit(&mut doc);
    if let Some(value) = poison {
        // POSITION is accessor 2 at byte 288 of view 1 (offset 0): its first x.
        bin[288..292].copy_from_slice(&value.to_le_bytes());
    }
    join_glb(&serde_json::to_string(&doc).expect("json"), &bin)
}

fn import_variant(bytes: &[u8]) -> Result<Scene, ImportError> {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("variant.glb");
    std::fs::write(&path, bytes).expect("write");
    // Named as an upload is: messages show this name, never the folder.
    import_file_as(&path, "variant.glb", &ImportParams::default())
}

/// What the gltf crate refused although the spec allows it now reads: integers written as
/// `1.0`, padding after the GLB's declared length, an unused accessor without a buffer view.
#[test]
fn spec_allowed_forms_are_read() {
    let mut bytes = box_variant(
        |doc| {
            doc["accessors"][0]["count"] = serde_json::json!(36.0);
            doc["meshes"][0]["primitives"][0]["indices"] = serde_json::json!(0.0);
            doc["accessors"]
                .as_array_mut()
                .expect("accessors")
                .push(serde_json::json!({"componentType": 5126, "count": 2, "type": "VEC3"}));
        },
        None,
    );
    bytes.extend([0, 0, 0, 0]);
    let scene = import_variant(&bytes).expect("spec-allowed forms import");
    assert_eq!(scene.drawn_triangle_count(), 12);
    assert!(
        scene
            .warnings
            .iter()
            .any(|w| w.contains("after the declared length")),
        "{:?}",
        scene.warnings
    );
}

/// Defects that make the result wrong are refused with the JSON pointer of the culprit.
#[test]
fn result_changing_defects_name_their_pointer() {
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "NaN position",
            box_variant(|_| {}, Some(f32::NAN)),
            "/accessors/2",
        ),
        (
            "infinite position",
            box_variant(|_| {}, Some(f32::INFINITY)),
            "/accessors/2",
        ),
        (
            "projective matrix",
            box_variant(
                |doc| doc["nodes"][0]["matrix"][3] = serde_json::json!(1.0),
                None,
            ),
            "/nodes/0/matrix",
        ),
        (
            "index out of range",
            box_variant(
                |doc| doc["accessors"][2]["count"] = serde_json::json!(20),
                None,
            ),
            "/accessors/0",
        ),
    ];
    for (what, bytes, pointer) in cases {
        let err = import_variant(&bytes).expect_err(what);
        assert_eq!(err.code(), "malformed_gltf", "{what}: {err}");
        assert_eq!(err.pointer(), Some(pointer), "{what}: {err}");
        assert!(err.to_string().contains(pointer), "{what}: {err}");
    }
}

/// Defects that do not change the result are accepted with a warning naming them: an
/// unused accessor of an unknown type, a material's unknown alpha mode, an image without a
/// MIME type (the gltf crate unwrapped it), a non-unit rotation.
#[test]
fn harmless_defects_are_warnings() {
    let bytes = box_variant(
        |doc| {
            doc["accessors"]
                .as_array_mut()
                .expect("accessors")
                .push(serde_json::json!({"bufferView": 1, "componentType": 5126, "count": 1, "type": "VEC7"}));
            doc["materials"][0]["alphaMode"] = serde_json::json!("SOMETIMES");
            doc["images"] = serde_json::json!([{"bufferView": 0}]);
            doc["nodes"][1]["rotation"] = serde_json::json!([0.0, 0.0, 0.0, 2.0]);
            doc["nodes"][1]["vendorNote"] = serde_json::json!("not in the spec");
            // A node outside the scene naming a mesh that does not exist.
            doc["nodes"]
                .as_array_mut()
                .expect("nodes")
                .push(serde_json::json!({"mesh": 99, "skin": 7}));
        },
        None,
    );
    let scene = import_variant(&bytes).expect("accepted");
    assert_eq!(scene.drawn_triangle_count(), 12);
    for needle in [
        "/accessors/3/type",
        "/materials/0/alphaMode",
        "/images/0",
        "/nodes/1/rotation",
        "/nodes/1/vendorNote",
        "/nodes/2/mesh",
    ] {
        assert!(
            scene.warnings.iter().any(|w| w.contains(needle)),
            "{needle} not warned: {:?}",
            scene.warnings
        );
    }
}

/// A file without geometry is `no_geometry`, naming what it holds; never an empty product.
#[test]
fn files_without_geometry_are_refused_as_such() {
    let cases = [
        (
            box_variant(|doc| doc["scenes"] = serde_json::json!([{}]), None),
            "1 mesh",
        ),
        (
            box_variant(
                |doc| doc["meshes"][0]["primitives"][0]["mode"] = serde_json::json!(1),
                None,
            ),
            "2 nodes",
        ),
    ];
    for (bytes, needle) in cases {
        let err = import_variant(&bytes).expect_err("no geometry");
        assert_eq!(err.code(), "no_geometry", "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert!(err.to_string().starts_with("variant.glb: "), "{err}");
        assert!(!err.to_string().contains("/tmp"), "no server path: {err}");
    }
}

/// Well-formed files (the shared fixtures, exported by common tools) import without a
/// single conformance warning: the warnings mean something when they appear.
#[test]
fn well_formed_fixtures_have_no_conformance_warnings() {
    for name in [
        "Box.glb",
        "BoxTextured.glb",
        "CesiumMilkTruck.glb",
        "NegativeScaleTest.glb",
        "SimpleInstancing.glb",
        "SimpleMeshes/SimpleMeshes.gltf",
    ] {
        let scene = common::load(name);
        let conformance = |scene: &Scene| -> Vec<String> {
            scene
                .warnings
                .iter()
                .filter(|w| w.starts_with("glTF") || w.starts_with("GLB"))
                .cloned()
                .collect()
        };
        assert!(
            conformance(&scene).is_empty(),
            "{name}: {:?}",
            conformance(&scene)
        );
        // Our own export (a product's preview GLB) reads back as cleanly.
        let manifest =
            workflow_engine::extract_manifest(&scene, &Default::default()).expect("manifest");
        let glb = workflow_engine::export_glb::export_glb(
            &scene,
            &manifest,
            &Default::default(),
            &Default::default(),
        )
        .expect("export");
        let again = import_gltf_slice(&glb, None).expect("re-import");
        assert!(
            conformance(&again).is_empty(),
            "{name} exported: {:?}",
            conformance(&again)
        );
    }
}
