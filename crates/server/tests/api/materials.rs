//! The material library: user materials created and replaced over the API, validated field
//! by field, persisted in the database, merged over the defaults and usable in material maps.
//! (Rendering with a new material: `orders::an_order_line_renders_with_a_new_material`.)

use super::common::*;
use super::products::{finished, small_thumbnail, upload};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn signal_red() -> Value {
    json!({"name": "signal_red", "base_color": "#c1121c", "metallic": 0, "roughness": 0.35})
}

/// The library's materials by name.
async fn library(app: &TestApp) -> Vec<Value> {
    json_of(app.get("/api/materials", &app.author).await, StatusCode::OK).await["materials"]
        .as_array()
        .expect("materials")
        .clone()
}

/// Whether `v` is the number `x` (factors are f32 in the engine).
fn is(v: &Value, x: f64) -> bool {
    v.as_f64().is_some_and(|n| (n - x).abs() < 1e-6)
}

fn named<'a>(materials: &'a [Value], name: &str) -> Option<&'a Value> {
    materials.iter().find(|m| m["name"] == name)
}

/// The `field`s of a 422 `invalid_material`.
async fn bad_fields(response: reqwest::Response) -> Vec<String> {
    let body = error_of(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_material",
    )
    .await;
    body["error"]["details"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn materials_are_created_validated_and_merged_over_the_defaults() {
    let app = spawn_app().await;
    let defaults = library(&app).await;
    assert!(defaults.iter().all(|m| m["source"] == "default"));

    let created = app
        .post("/api/materials", &app.material_specialist, &signal_red())
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["location"], "/api/materials/signal_red");
    let created: Value = created.json().await.expect("json");
    assert_eq!(created["source"], "user");
    assert!(is(&created["roughness"], 0.35), "{created:#}");
    // sRGB hex in, linear out (as glTF and the renderer use it).
    let r = created["base_color"][0].as_f64().expect("r");
    assert!((r - 0.533).abs() < 0.01, "{created:#}");

    // A name already in the library, user or default, is a conflict.
    for name in ["signal_red", "paint_red"] {
        let mut body = signal_red();
        body["name"] = json!(name);
        error_of(
            app.post("/api/materials", &app.author, &body).await,
            StatusCode::CONFLICT,
            "material_exists",
        )
        .await;
    }

    // Every bad field is named.
    let mut bad = signal_red();
    bad["name"] = json!("glossy");
    bad["roughness"] = json!(1.5);
    assert_eq!(
        bad_fields(app.post("/api/materials", &app.author, &bad).await).await,
        ["roughness"]
    );
    let bad = json!({"name": "bad name!", "base_color": "#12345", "metallic": "x",
                     "roughness": -0.1, "opacity": 2, "emissive": [1, 1, 1, 1], "gloss": 1});
    let fields = bad_fields(app.post("/api/materials", &app.author, &bad).await).await;
    for f in [
        "gloss",
        "name",
        "base_color",
        "metallic",
        "roughness",
        "emissive",
        "opacity",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
    }
    // Malformed JSON is still a 400.
    let r = app
        .req(Method::POST, "/api/materials", Some(&app.author))
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("send");
    error_of(r, StatusCode::BAD_REQUEST, "malformed_json").await;

    // Writes need the material-map roles; reads any token.
    let mut other = signal_red();
    other["name"] = json!("other");
    error_of(
        app.post("/api/materials", &app.debugger, &other).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    error_of(
        app.put("/api/materials/other", &app.debugger, 0, &other)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let merged = library(&app).await;
    assert_eq!(merged.len(), defaults.len() + 1);
    assert_eq!(
        named(&merged, "signal_red").expect("signal_red")["source"],
        "user"
    );
    let one = json_of(
        app.get("/api/materials/signal_red", &app.debugger).await,
        StatusCode::OK,
    )
    .await;
    assert!(is(&one["metallic"], 0.0), "{one:#}");
    error_of(
        app.get("/api/materials/unobtainium", &app.author).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn put_creates_or_replaces_and_materials_persist() {
    let app = spawn_app().await;
    let count = library(&app).await.len();
    // Create (201), then replace (200); the body's name is optional but must match.
    let body = json!({"base_color": [0.1, 0.2, 0.3, 1.0], "metallic": 1, "roughness": 0.2});
    let r = app
        .put(
            "/api/materials/blue_steel",
            &app.material_specialist,
            0,
            &body,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut body = body;
    body["roughness"] = json!(0.6);
    let replaced = json_of(
        app.put("/api/materials/blue_steel", &app.author, 0, &body)
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(is(&replaced["roughness"], 0.6), "{replaced:#}");
    body["name"] = json!("red_steel");
    assert_eq!(
        bad_fields(
            app.put("/api/materials/blue_steel", &app.author, 0, &body)
                .await
        )
        .await,
        ["name"]
    );
    // A default's name: the user material replaces it (200: the name is not new).
    let paint = json!({"base_color": "#00ff00", "metallic": 0, "roughness": 0.9});
    let r = app
        .put("/api/materials/paint_red", &app.author, 0, &paint)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let merged = library(&app).await;
    assert_eq!(merged.len(), count + 1);
    let paint_red = named(&merged, "paint_red").expect("paint_red");
    assert_eq!(paint_red["source"], "user");
    assert!(is(&paint_red["roughness"], 0.9), "{paint_red:#}");

    // Stored in the database: a restarted server still has them.
    let (dir, tokens) = app.stop().await;
    let app = spawn_app_in(dir, Some(tokens)).await;
    let merged = library(&app).await;
    assert_eq!(merged.len(), count + 1);
    assert!(is(
        &named(&merged, "blue_steel").expect("blue_steel")["roughness"],
        0.6
    ));
    assert_eq!(
        named(&merged, "paint_red").expect("paint_red")["source"],
        "user"
    );
}

#[tokio::test]
async fn a_new_material_can_be_assigned_in_a_material_map() {
    let app = spawn_app().await;
    let created = json_of(
        upload(&app, "gltf/Box.glb", small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let id = created["product"]["id"].as_str().expect("id").to_owned();
    finished(&app, created["run_id"].as_str().expect("run id")).await;
    let path = format!("/api/products/{id}/material-map");
    let map = json!({"assignments": {}, "rules": [{"pattern": "*", "material": "signal_red"}]});
    error_of(
        app.put(&path, &app.material_specialist, 0, &map).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_material",
    )
    .await;
    let r = app
        .post("/api/materials", &app.material_specialist, &signal_red())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let stored = app.put(&path, &app.material_specialist, 0, &map).await;
    assert_eq!(stored.status(), StatusCode::OK);
    let got = json_of(app.get(&path, &app.author).await, StatusCode::OK).await;
    assert_eq!(got["rules"][0]["material"], "signal_red");
}
