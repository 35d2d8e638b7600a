//! `/api/cad-files`, `/api/products`: upload a CAD file (which creates a
//! product and dispatches its processing), read products with their processing results, and
//! edit a product's material map. Handlers translate and delegate to [`Products`] and the
//! run service.

use super::{if_match, version_etag};
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath};
use crate::products::upload::{StagedUpload, UploadError};
use crate::products::{Product, ProductError, Products, CAD_EXTENSIONS};
use crate::runs::dispatch::DispatchInput;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tokio::io::AsyncWriteExt as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use workflow_contracts::Family;
use workflow_engine::materials::MaterialMap;

/// Largest accepted CAD upload (all its files together).
pub const UPLOAD_LIMIT: usize = 512 * 1024 * 1024;
/// What the multipart framing around an upload's files may add to the body.
const MULTIPART_OVERHEAD: usize = 1024 * 1024;
/// Largest upload request body: the files and their multipart framing. A declared length over
/// it is refused before the body is read (`net::refuse_declared_oversize`).
pub const UPLOAD_BODY_LIMIT: usize = UPLOAD_LIMIT + MULTIPART_OVERHEAD;

pub fn routes() -> OpenApiRouter<AppState> {
    let upload = OpenApiRouter::new()
        .routes(routes!(upload_cad_file))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(product_glb))
        .routes(routes!(product_thumbnail))
        .routes(routes!(get_material_map, put_material_map))
        .merge(upload)
}

impl From<ProductError> for ApiError {
    fn from(err: ProductError) -> Self {
        match err {
            ProductError::NotFound(id) => ApiError::NotFound(format!("product '{id}'")),
            ProductError::UnsupportedFile(_) => ApiError::Unprocessable {
                code: "unsupported_format",
                message: err.to_string(),
                details: json!({"expected": CAD_EXTENSIONS}),
            },
            ProductError::VersionMismatch { current, .. } => ApiError::Conflict {
                code: "version_mismatch",
                message: err.to_string(),
                details: json!({"current_version": current}),
            },
            ProductError::Io(m) => ApiError::Internal(m),
            ProductError::Store(e) => e.into(),
            ProductError::Blob(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(err: UploadError) -> Self {
        match err {
            UploadError::TooLarge { limit } => ApiError::PayloadTooLarge {
                limit: limit as usize,
            },
            UploadError::Io(e) => ApiError::Internal(e.to_string()),
            UploadError::InvalidName { ref name, .. } => ApiError::Unprocessable {
                code: err.code(),
                message: err.to_string(),
                details: json!({"file": name}),
            },
            UploadError::Reference(ref import) => {
                let details = match import {
                    workflow_engine::ImportError::ExternalReferenceRefused {
                        pointer, uri, ..
                    }
                    | workflow_engine::ImportError::MissingSideFile { pointer, uri } => {
                        json!({"pointer": pointer, "uri": uri})
                    }
                    _ => json!({}),
                };
                ApiError::Unprocessable {
                    code: err.code(),
                    message: err.to_string(),
                    details,
                }
            }
            _ => ApiError::Unprocessable {
                code: err.code(),
                message: err.to_string(),
                details: json!({}),
            },
        }
    }
}

/// The multipart body of `POST /api/cad-files` (documentation only: the handler streams the
/// fields).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CadUpload {
    /// One or more files: the main `.glb`, `.gltf`, `.step` or `.stp` file plus the side
    /// files a `.gltf` names (buffers, images), or one `.zip` holding them.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
    /// Dispatch overrides: a JSON object of `<node id or node type>.<param>` → value.
    #[schema(value_type = Option<String>)]
    overrides: Option<String>,
    /// Which uploaded file to import when the upload holds several CAD files.
    main: Option<String>,
}

/// The product with its processing state (from the processing run when it is not processed).
async fn product_json(state: &AppState, product: Product) -> Result<Value, ApiError> {
    let mut status = product.status.clone();
    let mut error = Value::Null;
    if status == "processing" {
        if let Some(run_id) = &product.processing_run_id {
            if let Ok(run) = state.store.get_run(run_id).await {
                let run_json = serde_json::to_value(&run).unwrap_or_default();
                if run_json["status"] == "failed" || run_json["status"] == "cancelled" {
                    status = "failed".into();
                    error = failure(&run_json);
                }
            }
        }
    }
    let mut body = serde_json::to_value(&product).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["status"] = json!(status);
    body["error"] = error;
    Ok(body)
}

/// The first failed node's error of a run (or the run's own error).
fn failure(run: &Value) -> Value {
    run["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["status"] == "failed"))
        .map(|n| json!({"node": n["node_id"], "code": n["error"]["code"], "message": n["error"]["message"]}))
        .unwrap_or_else(|| run["error"].clone())
}

/// Upload a CAD product: one or more multipart fields `file` (the main .glb/.gltf/.step/.stp
/// and, for a .gltf, its side files named as its URIs name them, folders included; or one
/// .zip of them), optional `main` (which file to import when there are several CAD files)
/// and optional `overrides` (a JSON object of dispatch overrides). Files are streamed to
/// disk; the total may not exceed the upload limit. Creates a product and dispatches its
/// processing (the first `cad_file` output type, following its rollout).
#[utoipa::path(post, path = "/api/cad-files", tag = "products", security(("bearer" = [])),
    request_body(content = CadUpload, content_type = "multipart/form-data"),
    responses((status = 202, description = "product created, processing dispatched: `{product, run_id}`",
            body = Object, headers(("Location" = String))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn upload_cad_file(
    caller: Caller,
    State(state): State<AppState>,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    caller.require(Permission::UploadCad, "upload CAD files")?;
    let limit = UPLOAD_LIMIT as u64;
    let mut staged = StagedUpload::new(&state.products.staging_dir(), limit)?;
    let mut overrides = Map::new();
    let mut main: Option<String> = None;
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: UPLOAD_LIMIT,
            }
        } else {
            ApiError::BadRequest(format!("malformed multipart body: {e}"))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_owned).ok_or_else(|| {
                    ApiError::BadRequest("a `file` field needs a file name".into())
                })?;
                let mut file = tokio::fs::File::from_std(staged.open_file(&name)?);
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    staged.count(chunk.len())?;
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| ApiError::from(UploadError::Io(e)))?;
                }
                file.flush()
                    .await
                    .map_err(|e| ApiError::from(UploadError::Io(e)))?;
            }
            Some("main") => main = Some(field.text().await.map_err(bad)?),
            Some("overrides") => {
                let text = field.text().await.map_err(bad)?;
                overrides = serde_json::from_str(&text).map_err(|e| {
                    ApiError::BadRequest(format!("`overrides` must be a JSON object: {e}"))
                })?;
            }
            _ => {}
        }
    }
    let received = tokio::task::spawn_blocking(move || staged.finish(main.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let product = state.products.create_from_upload(received).await?;
    let output_types = state.store.list_output_types(Some(Family::CadFile)).await?;
    let Some(ot) = output_types.first() else {
        return Err(ApiError::Conflict {
            code: "no_cad_processing",
            message: format!(
                "product {} was stored, but there is no cad_file output type to process it",
                product.id
            ),
            details: json!({"product_id": product.id}),
        });
    };
    let mut inputs = Map::new();
    inputs.insert("product_id".into(), json!(product.id));
    let runs = state
        .runs
        .dispatch_output_type(ot, DispatchInput { inputs, overrides })
        .await?;
    let run_id = runs.first().map(|r| r.id.clone()).unwrap_or_default();
    let product = state.products.set_processing(&product.id, &run_id).await?;
    let location = format!("/api/products/{}", product.id);
    let body = json!({"product": product_json(&state, product).await?, "run_id": run_id});
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// Every product, newest first.
#[utoipa::path(get, path = "/api/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, description = "products")))]
async fn list_products(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for p in state.products.list().await? {
        out.push(product_json(&state, p).await?);
    }
    Ok(Json(json!({"products": out})))
}

/// A product with its manifest and the URLs of its processing results.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, description = "product"),
        (status = 404, body = ErrorBody)))]
async fn get_product(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let record = state.products.record(&id).await?;
    let manifest = record.manifest.clone();
    let mut body = product_json(&state, Product::from(&record)).await?;
    // What the import accepted with a warning (by JSON pointer), at the product's top level.
    body["warnings"] = manifest
        .as_ref()
        .and_then(|m| m.get("warnings").cloned())
        .unwrap_or_else(|| json!([]));
    body["manifest"] = manifest.unwrap_or(Value::Null);
    body["artifacts"] = json!({
        "glb": record.glb_key.is_some().then(|| format!("/api/products/{id}/glb")),
        "thumbnail": record.thumbnail_key.is_some().then(|| format!("/api/products/{id}/thumbnail")),
    });
    Ok(Json(body))
}

async fn download(
    products: &Products,
    id: &str,
    name: &str,
    media_type: &str,
) -> Result<Response, ApiError> {
    let bytes = products.file(id, name).await?.ok_or_else(|| {
        ApiError::NotFound(format!("{name} of product '{id}' (not processed yet)"))
    })?;
    Ok(([(header::CONTENT_TYPE, media_type.to_owned())], bytes).into_response())
}

/// The processed preview GLB (part keys in node extras).
#[utoipa::path(get, path = "/api/products/{id}/glb", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, content_type = "model/gltf-binary", description = "GLB"),
        (status = 404, body = ErrorBody)))]
async fn product_glb(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    download(&state.products, &id, "preview.glb", "model/gltf-binary").await
}

/// The processed thumbnail.
#[utoipa::path(get, path = "/api/products/{id}/thumbnail", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, content_type = "image/png", description = "PNG"),
        (status = 404, body = ErrorBody)))]
async fn product_thumbnail(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    download(&state.products, &id, "thumbnail.png", "image/png").await
}

/// The product's material map (`ETag`: its version).
#[utoipa::path(get, path = "/api/products/{id}/material-map", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, description = "material map"),
        (status = 404, body = ErrorBody)))]
async fn get_material_map(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let (map, version) = state.products.material_map(&id).await?;
    Ok((version_etag(version), Json(map)).into_response())
}

/// Replaces the material map (`If-Match: <version>`). Materials must be in the library.
#[utoipa::path(put, path = "/api/products/{id}/material-map", tag = "products", security(("bearer" = [])),
    params(("id" = String, Path),
        ("If-Match" = String, Header, description = "The version you edited")),
    request_body(content = Object,
        description = "{\"assignments\": {part key: material}, \"rules\": [{\"pattern\", \"material\"}]}"),
    responses((status = 200, description = "stored", body = Object),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)))]
async fn put_material_map(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditMaterials, "edit material maps")?;
    let map: MaterialMap = serde_json::from_value(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "a material map is {{\"assignments\": {{part key: material}}, \"rules\": [{{\"pattern\", \"material\"}}]}}: {e}"
        ))
    })?;
    let expected = if_match(&headers)?;
    let library = state.products.library();
    let unknown = map.unknown_materials(&library);
    if !unknown.is_empty() {
        return Err(ApiError::Unprocessable {
            code: "unknown_material",
            message: format!("not in the material library: {}", unknown.join(", ")),
            details: json!({"materials": unknown}),
        });
    }
    let version = state.products.put_material_map(&id, expected, &map).await?;
    Ok((version_etag(version), Json(map)).into_response())
}
