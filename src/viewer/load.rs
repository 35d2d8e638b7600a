//! The viewer's background work: fetching a product (GLB, manifest, library, map), a run's
//! GLB artifact or a local file, decoding it (on a blocking thread), saving the map, saving
//! library materials. Each task ends in one [`ViewerEvent`]; nothing here touches UI state.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use workflow_contracts::{ArtifactRole, Family};
use workflow_engine::materials::{default_library, MaterialLibrary, MaterialMap, PbrMaterial};
use workflow_engine::runtime::RunStatus;
use workflow_engine::{import_file, ImportParams};

use super::model::{load_glb, load_scene, DocSource, LoadedDoc};
use crate::backend::client::{ApiClient, ClientError};

/// A product as the open list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSummary {
    pub id: String,
    pub name: String,
    pub status: String,
}

impl ProductSummary {
    pub fn from_json(v: &Value) -> Option<Self> {
        let id = v["id"].as_str()?.to_owned();
        let name = v["name"]
            .as_str()
            .or_else(|| v["file_name"].as_str())
            .unwrap_or(&id)
            .to_owned();
        Some(ProductSummary {
            id,
            name,
            status: v["status"].as_str().unwrap_or("unknown").to_owned(),
        })
    }
}

/// A library material with where it comes from (`default` or `user`).
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryEntry {
    pub material: PbrMaterial,
    pub source: String,
}

impl LibraryEntry {
    pub fn from_json(v: &Value) -> Option<Self> {
        Some(LibraryEntry {
            material: serde_json::from_value(v.clone()).ok()?,
            source: v["source"].as_str().unwrap_or("default").to_owned(),
        })
    }

    /// The engine's default library (offline, local files).
    pub fn defaults() -> Vec<LibraryEntry> {
        default_library()
            .materials
            .into_iter()
            .map(|material| LibraryEntry {
                material,
                source: "default".into(),
            })
            .collect()
    }
}

/// The engine library of some entries.
pub fn library_of(entries: &[LibraryEntry]) -> MaterialLibrary {
    MaterialLibrary {
        materials: entries.iter().map(|e| e.material.clone()).collect(),
    }
}

/// How a render preview went.
#[derive(Debug, Clone)]
pub enum PreviewEvent {
    Done {
        run_id: String,
        image: Arc<egui::ColorImage>,
    },
    Failed(String),
}

/// What a viewer task reports.
#[derive(Debug)]
pub enum ViewerEvent {
    Loaded {
        seq: u64,
        doc: Box<LoadedDoc>,
        library: Option<Vec<LibraryEntry>>,
    },
    LoadFailed {
        seq: u64,
        message: String,
    },
    Products(Result<Vec<ProductSummary>, String>),
    Library(Result<Vec<LibraryEntry>, String>),
    MapSaved {
        product_id: String,
        map: MaterialMap,
        version: i64,
    },
    /// Someone saved the map in between: the server is at `version`.
    MapConflict {
        product_id: String,
        version: i64,
        message: String,
    },
    MapReloaded {
        product_id: String,
        map: MaterialMap,
        version: i64,
    },
    SaveFailed(String),
    MaterialSaved(LibraryEntry),
    MaterialRejected {
        message: String,
        /// The token's role may not edit the library.
        forbidden: bool,
    },
    Preview(PreviewEvent),
}

fn err(e: ClientError) -> String {
    e.to_string()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("decoding stopped: {e}"))?
}

async fn library(client: &ApiClient) -> Result<Vec<LibraryEntry>, String> {
    let items = client.materials().await.map_err(err)?;
    Ok(items.iter().filter_map(LibraryEntry::from_json).collect())
}

fn parse_map(v: Value) -> Result<MaterialMap, String> {
    serde_json::from_value(v).map_err(|e| format!("the server's material map is unreadable: {e}"))
}

/// Opens a server product: its preview GLB, the library and its material map.
pub async fn open_product(client: ApiClient, id: String, seq: u64) -> ViewerEvent {
    let result = async {
        let (product, glb, lib, map) = tokio::join!(
            client.product(&id),
            client.product_glb(&id),
            library(&client),
            client.material_map(&id)
        );
        let product = product.map_err(err)?;
        let glb = glb.map_err(|e| match e {
            ClientError::NotFound(_) => format!(
                "product {id} has no preview GLB yet (status: {})",
                product["status"].as_str().unwrap_or("unknown")
            ),
            other => other.to_string(),
        })?;
        let lib = lib?;
        let (map, version) = map.map_err(err)?;
        let map = parse_map(map)?;
        let name = ProductSummary::from_json(&product)
            .map(|p| p.name)
            .unwrap_or_else(|| id.clone());
        let source = DocSource::Product {
            id: id.clone(),
            name,
        };
        let engine_lib = library_of(&lib);
        let server_keys: Vec<String> = product["manifest"]["parts"]
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p["part_key"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut doc =
            blocking(move || load_glb(&glb, source, engine_lib, map, Some(version))).await?;
        if let Some(w) = super::model::manifest_mismatch(&server_keys, &doc.manifest) {
            doc.warnings.push(w);
        }
        Ok::<_, String>((doc, lib))
    }
    .await;
    match result {
        Ok((doc, lib)) => ViewerEvent::Loaded {
            seq,
            doc: Box::new(doc),
            library: Some(lib),
        },
        Err(message) => ViewerEvent::LoadFailed { seq, message },
    }
}

/// The server's library, or the defaults when there is no server.
async fn library_or_defaults(client: Option<&ApiClient>) -> Vec<LibraryEntry> {
    match client {
        Some(c) => library(c)
            .await
            .unwrap_or_else(|_| LibraryEntry::defaults()),
        None => LibraryEntry::defaults(),
    }
}

/// Opens a run's GLB artifact (no material map: nothing to save it to).
pub async fn open_artifact(client: ApiClient, id: String, title: String, seq: u64) -> ViewerEvent {
    let result = async {
        let (bytes, _) = client.artifact(&id).await.map_err(err)?;
        let lib = library_or_defaults(Some(&client)).await;
        let engine_lib = library_of(&lib);
        let source = DocSource::Artifact { id, title };
        let doc =
            blocking(move || load_glb(&bytes, source, engine_lib, MaterialMap::default(), None))
                .await?;
        Ok::<_, String>((doc, lib))
    }
    .await;
    loaded(seq, result)
}

/// The load event of a decode's outcome.
pub(super) fn loaded(
    seq: u64,
    result: Result<(LoadedDoc, Vec<LibraryEntry>), String>,
) -> ViewerEvent {
    match result {
        Ok((doc, lib)) => ViewerEvent::Loaded {
            seq,
            doc: Box::new(doc),
            library: Some(lib),
        },
        Err(message) => ViewerEvent::LoadFailed { seq, message },
    }
}

/// Decodes bytes another view handed over.
pub async fn open_bytes(
    client: Option<ApiClient>,
    name: String,
    bytes: Arc<Vec<u8>>,
    seq: u64,
) -> ViewerEvent {
    let lib = library_or_defaults(client.as_ref()).await;
    let engine_lib = library_of(&lib);
    let result = blocking(move || {
        load_glb(
            &bytes,
            DocSource::File { name },
            engine_lib,
            MaterialMap::default(),
            None,
        )
    })
    .await;
    loaded(seq, result.map(|d| (d, lib)))
}

/// Imports a local file (glTF/GLB, or STEP through the engine's converter).
pub fn decode_path(path: PathBuf, library: MaterialLibrary) -> Result<LoadedDoc, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let t = std::time::Instant::now();
    let scene = import_file(&path, &ImportParams::default()).map_err(|e| e.to_string())?;
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    load_scene(
        scene,
        decode_ms,
        DocSource::File { name },
        library,
        MaterialMap::default(),
        None,
    )
}

/// Opens a local file (the app asks for it first: see `app::file_dialogs`).
pub async fn open_path(client: Option<ApiClient>, path: PathBuf, seq: u64) -> ViewerEvent {
    let lib = library_or_defaults(client.as_ref()).await;
    let engine_lib = library_of(&lib);
    let result = blocking(move || decode_path(path, engine_lib)).await;
    loaded(seq, result.map(|d| (d, lib)))
}

pub async fn products(client: ApiClient) -> ViewerEvent {
    ViewerEvent::Products(
        client
            .products()
            .await
            .map(|items| items.iter().filter_map(ProductSummary::from_json).collect())
            .map_err(err),
    )
}

pub async fn refresh_library(client: ApiClient) -> ViewerEvent {
    ViewerEvent::Library(library(&client).await)
}

/// Saves `map` over `version`; a 409 keeps the local map (the app offers reload/overwrite).
pub async fn save_map(
    client: ApiClient,
    product_id: String,
    version: i64,
    map: MaterialMap,
) -> ViewerEvent {
    let body = match serde_json::to_value(&map) {
        Ok(v) => v,
        Err(e) => return ViewerEvent::SaveFailed(e.to_string()),
    };
    match client.put_material_map(&product_id, version, &body).await {
        Ok((stored, version)) => ViewerEvent::MapSaved {
            product_id,
            map: parse_map(stored).unwrap_or(map),
            version,
        },
        Err(ClientError::Conflict {
            version, message, ..
        }) => ViewerEvent::MapConflict {
            product_id,
            version,
            message,
        },
        Err(e) => ViewerEvent::SaveFailed(e.to_string()),
    }
}

pub async fn reload_map(client: ApiClient, product_id: String) -> ViewerEvent {
    match client.material_map(&product_id).await {
        Ok((map, version)) => match parse_map(map) {
            Ok(map) => ViewerEvent::MapReloaded {
                product_id,
                map,
                version,
            },
            Err(e) => ViewerEvent::SaveFailed(e),
        },
        Err(e) => ViewerEvent::SaveFailed(e.to_string()),
    }
}

/// The JSON body of a library material (`POST`/`PUT /api/materials`).
pub fn material_body(m: &PbrMaterial, with_name: bool) -> Value {
    let mut body = json!({
        "base_color": m.base_color,
        "metallic": m.metallic,
        "roughness": m.roughness,
        "emissive": m.emissive,
        "opacity": m.opacity,
    });
    if with_name {
        body["name"] = json!(m.name);
    }
    body
}

pub async fn save_material(client: ApiClient, material: PbrMaterial, create: bool) -> ViewerEvent {
    let result = if create {
        client
            .create_material(&material_body(&material, true))
            .await
    } else {
        client
            .put_material(&material.name, &material_body(&material, false))
            .await
    };
    match result {
        Ok(v) => match LibraryEntry::from_json(&v) {
            Some(entry) => ViewerEvent::MaterialSaved(entry),
            None => ViewerEvent::MaterialSaved(LibraryEntry {
                material,
                source: "user".into(),
            }),
        },
        Err(ClientError::Forbidden(message)) => ViewerEvent::MaterialRejected {
            message,
            forbidden: true,
        },
        Err(ClientError::Rejected {
            message, details, ..
        }) => {
            let problems: Vec<String> = details["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            format!(
                                "{}: {}",
                                p["field"].as_str().unwrap_or("?"),
                                p["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let message = if problems.is_empty() {
                message
            } else {
                format!("{message}: {}", problems.join("; "))
            };
            ViewerEvent::MaterialRejected {
                message,
                forbidden: false,
            }
        }
        Err(e) => ViewerEvent::MaterialRejected {
            message: e.to_string(),
            forbidden: false,
        },
    }
}

/// Edge of the preview still in pixels.
pub const PREVIEW_SIZE: u32 = 768;

/// Parameters of a preview run: the render.still node's size, placeholders instead of a
/// failed run for parts without a material (the viewer shows those too), and the viewer's
/// "Use file materials" choice.
pub fn preview_overrides(use_file_materials: bool) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("render.still.width".into(), json!(PREVIEW_SIZE));
    o.insert("render.still.height".into(), json!(PREVIEW_SIZE));
    o.insert(
        "material.resolve.missing_policy".into(),
        json!("placeholder"),
    );
    o.insert(
        "material.resolve.use_file_materials".into(),
        json!(use_file_materials),
    );
    o
}

/// Previews the product through an order_line workflow (the same modules as every render:
/// `order.load_product_scene` → `material.resolve` with the saved map → `render.still`),
/// waits for it and fetches the still. A preview run publishes nothing and notifies no one
/// (the server records it as such), so the order line id is only a label.
pub async fn render_preview(
    client: ApiClient,
    product_id: String,
    use_file_materials: bool,
) -> ViewerEvent {
    let result = async {
        let workflows = client.workflows().await.map_err(err)?;
        let workflow = workflows
            .iter()
            .find(|w| {
                w.graph.family == Some(Family::OrderLine)
                    && w.graph.nodes.iter().any(|n| n.node_type == "render.still")
            })
            .ok_or("no order_line workflow with a render.still node to render the preview with")?;
        let mut inputs = Map::new();
        inputs.insert("product_id".into(), json!(product_id));
        inputs.insert("order_line_id".into(), json!("viewer-preview"));
        let run_id = client
            .preview_workflow(
                &workflow.id,
                &inputs,
                &preview_overrides(use_file_materials),
            )
            .await
            .map_err(err)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let run = loop {
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            let run = client.run(&run_id).await.map_err(err)?;
            if run.status.is_final() {
                break run;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("run {run_id} did not finish within 5 minutes"));
            }
        };
        if run.status != RunStatus::Succeeded {
            let why = run
                .nodes
                .iter()
                .find_map(|n| {
                    n.error
                        .as_ref()
                        .map(|e| format!("{}: {}", n.node_id, e.message))
                })
                .unwrap_or_else(|| format!("the run ended {:?}", run.status));
            return Err(format!("preview run {run_id} failed: {why}"));
        }
        let artifact = run
            .nodes
            .iter()
            .flat_map(|n| &n.artifacts)
            .find(|a| a.role == ArtifactRole::Still)
            .ok_or_else(|| format!("run {run_id} produced no still"))?;
        let (bytes, _) = client.artifact(&artifact.id).await.map_err(err)?;
        let image = blocking(move || decode_image(&bytes)).await?;
        Ok::<_, String>((run_id, image))
    }
    .await;
    ViewerEvent::Preview(match result {
        Ok((run_id, image)) => PreviewEvent::Done {
            run_id,
            image: Arc::new(image),
        },
        Err(e) => PreviewEvent::Failed(e),
    })
}

/// PNG/JPEG bytes → egui image.
pub fn decode_image(bytes: &[u8]) -> Result<egui::ColorImage, String> {
    let img = image::load_from_memory(bytes)
        .map_err(|e| format!("the still is not a readable image: {e}"))?
        .to_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}
