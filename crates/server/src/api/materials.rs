//! `/api/materials`: the material library (the engine's defaults with the user materials
//! merged over them) and writes of user materials. Handlers translate and delegate to
//! [`crate::materials`].

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::json::{ApiJson, ApiPath};
use crate::materials::{self, LibraryMaterial, MaterialWriteError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, put))
}

impl From<MaterialWriteError> for ApiError {
    fn from(err: MaterialWriteError) -> Self {
        match err {
            MaterialWriteError::Invalid(problems) => ApiError::Unprocessable {
                code: "invalid_material",
                message: format!(
                    "the material has {} problem(s); first: {}",
                    problems.len(),
                    problems.first().map_or("", |p| p.message.as_str())
                ),
                details: json!({"errors": problems}),
            },
            MaterialWriteError::Exists(name) => ApiError::Conflict {
                code: "material_exists",
                message: format!(
                    "material '{name}' is already in the library; change it with PUT /api/materials/{name}"
                ),
                details: json!({"name": name}),
            },
            MaterialWriteError::Store(e) => e.into(),
        }
    }
}

/// A library material. Colours are linear (as in glTF).
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: responses serialise materials::LibraryMaterial.
pub struct Material {
    #[schema(example = "paint_red")]
    name: String,
    /// Linear `[r, g, b, a]`, each 0..1.
    base_color: [f32; 4],
    metallic: f32,
    roughness: f32,
    /// Linear `[r, g, b]`, each 0..1.
    emissive: [f32; 3],
    /// 1 = opaque.
    opacity: f32,
    /// `default` (the engine's library) or `user` (stored; may replace a default by name).
    #[schema(example = "user")]
    source: String,
}

/// What a material write carries. Every problem is reported at once as 422
/// `invalid_material`, `details.errors: [{code, field, message, expected?, got?}]`.
#[derive(ToSchema)]
#[allow(dead_code)] // Schema only: writes are validated field by field by materials::parse.
pub struct MaterialInput {
    /// Required for `POST`; for `PUT` optional and must equal the URL's name. 1–64 of
    /// letters, digits, `_`, `-`, `.`, starting with a letter or digit.
    #[schema(example = "paint_signal_red")]
    name: Option<String>,
    /// `"#rrggbb"` / `"#rrggbbaa"` (sRGB) or `[r, g, b]` / `[r, g, b, a]` (linear, each 0..1).
    #[schema(value_type = Object, example = "#c1121c")]
    base_color: Value,
    /// 0..1.
    metallic: f32,
    /// 0..1.
    roughness: f32,
    /// `"#rrggbb"` (sRGB) or `[r, g, b]` (linear, each 0..1); default black.
    #[schema(value_type = Option<Object>)]
    emissive: Option<Value>,
    /// 0..1, default 1 (opaque).
    opacity: Option<f32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialLibraryView {
    #[schema(value_type = Vec<Material>)]
    pub materials: Vec<LibraryMaterial>,
}

/// The material library: the engine's defaults, then the user materials (a user material
/// of a default's name replaces it). This is the library material maps, preflight and runs
/// resolve against.
#[utoipa::path(get, path = "/api/materials", tag = "materials", security(("bearer" = [])),
    responses((status = 200, body = MaterialLibraryView), (status = 401, body = ErrorBody)))]
async fn list(_caller: Caller, State(state): State<AppState>) -> Json<MaterialLibraryView> {
    Json(MaterialLibraryView {
        materials: materials::library(&state.products),
    })
}

/// One library material.
#[utoipa::path(get, path = "/api/materials/{name}", tag = "materials", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 200, body = Material), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn get_one(
    _caller: Caller,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<LibraryMaterial>, ApiError> {
    materials::get(&state.products, &name)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("material '{name}'")))
}

/// Adds a user material to the library (`material_specialist`, `author`). 409
/// `material_exists` when the name is already in the library (default or user): use `PUT`.
#[utoipa::path(post, path = "/api/materials", tag = "materials", security(("bearer" = [])),
    request_body = MaterialInput,
    responses((status = 201, body = Material, headers(("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditMaterials, "edit the material library")?;
    let material = materials::create(state.store.as_ref(), &state.products, &body).await?;
    let location = format!("/api/materials/{}", material.material.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(material),
    )
        .into_response())
}

/// Creates or replaces the user material `name` (`material_specialist`, `author`).
/// **Create-or-replace, last writer wins**: no `If-Match` is needed or checked. A default
/// material's name stores a user material that replaces the default everywhere (the default
/// itself is kept and is not editable). 201 when the name is new to the library, else 200.
#[utoipa::path(put, path = "/api/materials/{name}", tag = "materials", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = MaterialInput,
    responses((status = 200, description = "replaced", body = Material),
        (status = 201, description = "created", body = Material, headers(("Location" = String))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<Response, ApiError> {
    caller.require(Permission::EditMaterials, "edit the material library")?;
    let (material, created) =
        materials::put(state.store.as_ref(), &state.products, &name, &body).await?;
    Ok(if created {
        (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/api/materials/{name}"))],
            Json(material),
        )
            .into_response()
    } else {
        Json(material).into_response()
    })
}
