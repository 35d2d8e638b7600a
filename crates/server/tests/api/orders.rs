//! Order lines: validated against the product, the output type and what it runs; stored,
//! listed and dispatched as an output-type dispatch whose run carries the order line id.

use super::common::*;
use super::products::{finished, small_thumbnail, upload};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The id of the seeded output type called `name`.
async fn output_type(app: &TestApp, name: &str) -> String {
    let all = json_of(
        app.get("/api/output-types", &app.author).await,
        StatusCode::OK,
    )
    .await;
    all.as_array()
        .expect("output types")
        .iter()
        .find(|o| o["name"] == name)
        .and_then(|o| o["id"].as_str())
        .unwrap_or_else(|| panic!("output type {name}: {all:#}"))
        .to_owned()
}

/// Uploads `rel` and waits for its processing run; returns the product id.
async fn product(app: &TestApp, rel: &str) -> String {
    let created = json_of(
        upload(app, rel, small_thumbnail()).await,
        StatusCode::ACCEPTED,
    )
    .await;
    finished(app, created["run_id"].as_str().expect("run id")).await;
    created["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned()
}

/// The `field`s of a 422 `invalid_order_line`.
async fn bad_fields(response: reqwest::Response) -> Vec<String> {
    let body = error_of(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_order_line",
    )
    .await;
    body["error"]["details"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

fn small_still() -> Value {
    json!({"render.still.width": 128, "render.still.height": 128})
}

#[tokio::test]
async fn order_lines_are_validated_stored_listed_and_dispatched() {
    let app = spawn_app().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let still = output_type(&app, "Still 2048 white").await;
    let thumbnail = output_type(&app, "CAD thumbnail").await;
    let line = |product: &str, ot: &str, overrides: Value| json!({"product_id": product, "output_type_id": ot, "overrides": overrides});

    // Unknown product or output type: 404 naming the field.
    for (body, field) in [
        (line("no-such-product", &still, json!({})), "product_id"),
        (
            line(&product_id, "no-such-type", json!({})),
            "output_type_id",
        ),
    ] {
        let err = error_of(
            app.post("/api/order-lines", &app.author, &body).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_eq!(err["error"]["details"]["field"], field, "{err:#}");
    }
    // A cad_file output type, bad overrides (unknown target, bad value, a node type the
    // legacy still pipeline does not run) and bad plain fields: 422 naming each.
    assert_eq!(
        bad_fields(
            app.post(
                "/api/order-lines",
                &app.author,
                &line(&product_id, &thumbnail, json!({}))
            )
            .await
        )
        .await,
        ["output_type_id"]
    );
    let bad = line(
        &product_id,
        &still,
        json!({"render.still.width": "huge", "nonsense.param": 1,
               "render.turntable.frame_count": 12, "render.still.height": 256,
               // Legacy steps are node ids of a legacy run: checked like any node's params.
               "order.render_still.height": 64, "order.render_still.gloss": 4,
               "order.render_still.width": -3}),
    );
    let mut fields = bad_fields(app.post("/api/order-lines", &app.author, &bad).await).await;
    fields.sort();
    assert_eq!(
        fields,
        [
            "overrides.nonsense.param",
            "overrides.order.render_still.gloss",
            "overrides.order.render_still.width",
            "overrides.render.still.width",
            "overrides.render.turntable.frame_count"
        ]
    );
    let mut bad = line(&product_id, &still, json!({}));
    bad["quantity"] = json!(0);
    bad["priority"] = json!(1000);
    assert_eq!(
        bad_fields(app.post("/api/order-lines", &app.author, &bad).await).await,
        ["quantity", "priority"]
    );
    // Unknown body fields are a shape error, as elsewhere.
    let mut bad = line(&product_id, &still, json!({}));
    bad["colour"] = json!("red");
    error_of(
        app.post("/api/order-lines", &app.author, &bad).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    error_of(
        app.post(
            "/api/order-lines",
            &app.material_specialist,
            &line(&product_id, &still, json!({})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Created, read back, listed.
    let mut body = line(&product_id, &still, small_still());
    body["quantity"] = json!(3);
    body["reference"] = json!("PO-4711/1");
    let r = app.post("/api/order-lines", &app.author, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let created: Value = r.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(location, format!("/api/order-lines/{id}"));
    assert_eq!(
        (
            &created["quantity"],
            &created["priority"],
            &created["reference"]
        ),
        (&json!(3), &json!(0), &json!("PO-4711/1"))
    );
    assert_eq!(created["overrides"], small_still());
    assert_eq!(created["last_run_id"], Value::Null);
    let got = json_of(app.get(&location, &app.debugger).await, StatusCode::OK).await;
    assert_eq!(got, created);
    error_of(
        app.get("/api/order-lines/nope", &app.author).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let second = app
        .post(
            "/api/order-lines",
            &app.debugger,
            &line(&product_id, &still, json!({})),
        )
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let page = json_of(
        app.get(
            &format!("/api/order-lines?product_id={product_id}&limit=1"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((&page["total"], &page["limit"]), (&json!(2), &json!(1)));
    assert_eq!(page["order_lines"].as_array().expect("lines").len(), 1);
    let page = json_of(
        app.get("/api/order-lines?offset=1&limit=5", &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    // Newest first: the first line is on the second page position.
    assert_eq!(page["order_lines"][0]["id"], id.as_str());
    let page = json_of(
        app.get(
            &format!("/api/order-lines?output_type_id={thumbnail}"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["total"], 0);

    // Dispatch: debugger (as output-type dispatch); the run carries the order line.
    let dispatch = format!("/api/order-lines/{id}/dispatch");
    error_of(
        app.post(&dispatch, &app.author, &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    error_of(
        app.post("/api/order-lines/nope/dispatch", &app.debugger, &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let dispatched = json_of(
        app.post(&dispatch, &app.debugger, &json!({})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run_id = dispatched["run_id"].as_str().expect("run id").to_owned();
    assert_eq!(dispatched["runs"][0]["mode"], "legacy");
    let run = wait_final(&app, &run_id).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    assert_eq!(run["inputs"]["order_line_id"], id.as_str());
    assert_eq!(run["inputs"]["product_id"], product_id.as_str());
    assert_eq!(run["output_type_id"], still.as_str());
    assert_eq!(run["overrides"], small_still());
    let runs = json_of(
        app.get(&format!("/api/runs?output_type_id={still}"), &app.debugger)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(runs["runs"][0]["id"], run_id.as_str());
    assert_eq!(runs["runs"][0]["inputs"]["order_line_id"], id.as_str());
    let got = json_of(app.get(&location, &app.author).await, StatusCode::OK).await;
    assert_eq!(got["last_run_id"], run_id.as_str());
}

/// Real modules: a product processed by the real pipeline, a material created over the API and
/// assigned in the material map, an order line dispatched and rendered with it.
#[tokio::test]
async fn an_order_line_renders_with_a_new_material() {
    let app = spawn_app_production().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let material = json!({"name": "signal_red", "base_color": "#c1121c", "metallic": 0,
                          "roughness": 0.35});
    let r = app
        .post("/api/materials", &app.material_specialist, &material)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let map = json!({"assignments": {}, "rules": [{"pattern": "*", "material": "signal_red"}]});
    let r = app
        .put(
            &format!("/api/products/{product_id}/material-map"),
            &app.material_specialist,
            0,
            &map,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let still = output_type(&app, "Still 2048 white").await;
    let body =
        json!({"product_id": product_id, "output_type_id": still, "overrides": small_still()});
    let line = json_of(
        app.post("/api/order-lines", &app.author, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let id = line["id"].as_str().expect("id");
    let dispatched = json_of(
        app.post(
            &format!("/api/order-lines/{id}/dispatch"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let run = finished(&app, dispatched["run_id"].as_str().expect("run id")).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    let artifact = |role: &str| {
        run["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .find(|a| a["role"] == role)
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("a {role} artifact: {run:#}"))
            .to_owned()
    };
    // order.source read the line from the run inputs.
    let source = run["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["node_id"] == "order.load")
        .unwrap_or_else(|| panic!("order.load step: {run:#}"))
        .clone();
    assert_eq!(
        source["outputs"]["order_line"]["order_line_id"], id,
        "{source:#}"
    );
    // Every part resolved to the new material.
    let report: Value = app
        .get(
            &format!("/api/artifacts/{}", artifact("material_report")),
            &app.debugger,
        )
        .await
        .json()
        .await
        .expect("report json");
    let parts = report["parts"].as_array().expect("parts");
    assert!(!parts.is_empty(), "{report:#}");
    assert!(
        parts.iter().all(|p| p["material"]["name"] == "signal_red"),
        "{report:#}"
    );
    let png = app
        .get(
            &format!("/api/artifacts/{}", artifact("still")),
            &app.debugger,
        )
        .await;
    assert_eq!(png.headers()["content-type"], "image/png");
}

/// Preflight problems of an order-line dispatch come back exactly as the output-type dispatch
/// reports them (here: the product failed processing, so it is not processed).
#[tokio::test]
async fn order_line_preflight_failures_match_the_output_type_dispatch() {
    let app = spawn_app_production().await;
    let product_id = product(&app, "gltf/malformed/invalid_magic.glb").await;
    let still = output_type(&app, "Still 2048 white").await;
    let body =
        json!({"product_id": product_id, "output_type_id": still, "overrides": small_still()});
    let line = json_of(
        app.post("/api/order-lines", &app.author, &body).await,
        StatusCode::CREATED,
    )
    .await;
    let id = line["id"].as_str().expect("id");
    let refused = error_of(
        app.post(
            &format!("/api/order-lines/{id}/dispatch"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "preflight_failed",
    )
    .await;
    let problems = refused["error"]["details"]["problems"]
        .as_array()
        .expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["code"] == "product_not_processed"),
        "{refused:#}"
    );
    let same = error_of(
        app.post(
            &format!("/api/output-types/{still}/dispatch"),
            &app.debugger,
            &json!({"inputs": {"product_id": product_id, "order_line_id": id},
                    "overrides": small_still()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "preflight_failed",
    )
    .await;
    assert_eq!(refused, same);
    let got = json_of(
        app.get(&format!("/api/order-lines/{id}"), &app.author)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["last_run_id"], Value::Null);
}

/// `order.source` `apply_line_overrides`: off, an order line's own overrides are left out of
/// its runs (the output type's invocation overrides still apply); on (the default), they go
/// over the output type's.
#[tokio::test]
async fn order_source_decides_whether_line_overrides_apply() {
    let app = spawn_app().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let mut seen = Vec::new();
    for apply in [true, false] {
        let wf = super::runs::workflow_with_order_source(
            &app,
            &format!("apply {apply}"),
            json!({"apply_line_overrides": apply}),
        )
        .await;
        let ot = json_of(
            app.post(
                "/api/output-types",
                &app.author,
                &json!({"name": format!("Still via graph ({apply})"),
                        "workflow_family": "order_line", "artifact_kind": "still",
                        "workflow_id": wf, "rollout": "graph",
                        "invocation_overrides": {"render.width": 256}}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let line = json_of(
            app.post(
                "/api/order-lines",
                &app.author,
                &json!({"product_id": product_id, "output_type_id": ot["id"],
                        "overrides": {"render.width": 512, "render.height": 320}}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let dispatched = json_of(
            app.post(
                &format!(
                    "/api/order-lines/{}/dispatch",
                    line["id"].as_str().expect("id")
                ),
                &app.debugger,
                &json!({}),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let run = wait_final(&app, dispatched["run_id"].as_str().expect("run id")).await;
        assert_eq!(run["status"], "succeeded", "{run:#}");
        let render = super::runs::node(&run, "render");
        seen.push((
            apply,
            run["overrides"].clone(),
            render["params"]["width"].clone(),
            render["params"]["height"].clone(),
        ));
    }
    assert_eq!(
        seen,
        [
            (
                true,
                json!({"render.width": 512, "render.height": 320}),
                json!(512),
                json!(320)
            ),
            // The output type's width, the definition's default height.
            (false, json!({}), json!(256), json!(2048)),
        ]
    );
}

/// `output.publish` with the real modules: deliverables recorded per product
/// (`GET /api/products/{id}/deliverables`), a re-run of the same order line replacing its own,
/// another order line's publication of a name refused with `deliverable_exists` unless
/// `overwrite`, and a notification in the outbox
/// (`GET /api/notifications`) only with `notify`.
#[tokio::test]
async fn published_deliverables_overwrite_and_notifications() {
    let app = spawn_app_production().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let still = output_type(&app, "Still 2048 white").await;
    let small = json!({"render.still.width": 64, "render.still.height": 64});
    let line = |overrides: Value| {
        let mut o = small.clone();
        for (k, v) in overrides.as_object().cloned().unwrap_or_default() {
            o[k] = v;
        }
        json!({"product_id": product_id, "output_type_id": still, "overrides": o})
    };
    let create = |body: Value| {
        let app = &app;
        async move {
            let l = json_of(
                app.post("/api/order-lines", &app.author, &body).await,
                StatusCode::CREATED,
            )
            .await;
            l["id"].as_str().expect("id").to_owned()
        }
    };
    let dispatch = |id: String| {
        let app = &app;
        async move {
            let d = json_of(
                app.post(
                    &format!("/api/order-lines/{id}/dispatch"),
                    &app.debugger,
                    &json!({}),
                )
                .await,
                StatusCode::ACCEPTED,
            )
            .await;
            finished(app, d["run_id"].as_str().expect("run id")).await
        }
    };
    let deliverables_url = format!("/api/products/{product_id}/deliverables");
    let deliverables = || {
        let app = &app;
        let url = deliverables_url.clone();
        async move {
            let body = json_of(app.get(&url, &app.author).await, StatusCode::OK).await;
            body["deliverables"]
                .as_array()
                .expect("deliverables")
                .clone()
        }
    };
    let outbox = || {
        let app = &app;
        async move {
            json_of(
                app.get("/api/notifications?delivered=false", &app.debugger)
                    .await,
                StatusCode::OK,
            )
            .await
        }
    };
    let still_of = |run: &Value| {
        run["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .find(|a| a["role"] == "still")
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("a still: {run:#}"))
            .to_owned()
    };
    assert!(deliverables().await.is_empty());

    // Defaults (overwrite off, notify on): recorded, with a notification.
    let first = create(line(json!({}))).await;
    let run = dispatch(first.clone()).await;
    assert_eq!(run["status"], "succeeded", "{run:#}");
    // The legacy still pipeline publishes the still and the material report.
    let listed = deliverables().await;
    // `{output_type}` is the output type's name, reduced to file-name characters; the default
    // template names the order line too, so two lines of one product never collide.
    let name = format!("{product_id}_Still_2048_white_{first}.png");
    let report_name = format!("{product_id}_Still_2048_white_{first}_materials.json");
    let names: Vec<&str> = listed.iter().filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(names, [name.as_str(), report_name.as_str()], "{listed:#?}");
    let d = &listed[0];
    assert_eq!(d["role"], "still");
    assert_eq!(d["order_line_id"], first.as_str());
    assert_eq!(d["run_id"], run["id"]);
    assert_eq!(d["node_id"], "order.publish");
    assert_eq!(d["artifact_id"], still_of(&run).as_str());
    let url = d["url"].as_str().expect("url");
    let png = app.get(url, &app.debugger).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    let report = app
        .get(
            listed[1]["url"].as_str().expect("report url"),
            &app.debugger,
        )
        .await;
    assert_eq!(report.headers()["content-type"], "application/json");
    let pending = outbox().await;
    assert_eq!(pending["total"], 1, "{pending:#}");
    let note = &pending["notifications"][0];
    assert_eq!(
        (&note["order_line_id"], &note["run_id"], &note["delivered"]),
        (&json!(first), &run["id"], &json!(false))
    );
    assert_eq!(note["deliverables"], json!([name, report_name]));

    // The same order line again (a re-run after a fix): it replaces its own deliverables.
    let again = dispatch(first.clone()).await;
    assert_eq!(again["status"], "succeeded", "{again:#}");
    let listed = deliverables().await;
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|d| d["run_id"] == again["id"]),
        "{listed:#?}"
    );
    assert_eq!(outbox().await["total"], 2);

    // A template without `{order_line}`: two lines publish the same name. The first records
    // it; the second, overwrite off, fails its publish step naming it and changes nothing.
    let shared = json!({"output.publish.naming_template": "{product}_{output_type}{frame}.{ext}"});
    let name = format!("{product_id}_Still_2048_white.png");
    let report_name = format!("{product_id}_Still_2048_white_materials.json");
    let owner = create(line(shared.clone())).await;
    assert_eq!(dispatch(owner).await["status"], "succeeded");
    assert_eq!(deliverables().await.len(), 4);
    assert_eq!(outbox().await["total"], 3);
    let listed = deliverables().await;
    let other = create(line(shared.clone())).await;
    let refused = dispatch(other).await;
    assert_eq!(refused["status"], "failed", "{refused:#}");
    let publish = super::runs::node(&refused, "order.publish");
    assert_eq!(
        publish["error"]["code"], "deliverable_exists",
        "{publish:#}"
    );
    assert_eq!(publish["error"]["details"]["name"], name.as_str());
    assert!(publish["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(&name)));
    assert_eq!(deliverables().await, listed);
    assert_eq!(outbox().await["total"], 3);

    // overwrite on, notify off (keyed by node type, as for any override): the newer replaces
    // it and no notification is recorded.
    let mut replacing = shared.clone();
    replacing["output.publish.overwrite"] = json!(true);
    replacing["output.publish.notify"] = json!(false);
    let second = create(line(replacing)).await;
    let newer = dispatch(second.clone()).await;
    assert_eq!(newer["status"], "succeeded", "{newer:#}");
    let listed: Vec<Value> = deliverables()
        .await
        .into_iter()
        .filter(|d| d["name"] == name.as_str() || d["name"] == report_name.as_str())
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|d| d["run_id"] == newer["id"]),
        "{listed:#?}"
    );
    assert_eq!(listed[0]["order_line_id"], second.as_str());
    assert_eq!(listed[0]["artifact_id"], still_of(&newer).as_str());
    assert_eq!(deliverables().await.len(), 4);
    assert_eq!(outbox().await["total"], 3);

    // Another output type of the same product publishes under its own names, overwrite off:
    // the GIF and one PNG per frame, beside the still's.
    let turntable = output_type(&app, "Turntable 36 frames").await;
    let small_turntable = json!({"render.turntable.frame_count": 3,
        "render.turntable.width": 32, "render.turntable.height": 32});
    let tt_line = create(
        json!({"product_id": product_id, "output_type_id": turntable,
        "overrides": small_turntable}),
    )
    .await;
    let tt_run = dispatch(tt_line.clone()).await;
    assert_eq!(tt_run["status"], "succeeded", "{tt_run:#}");
    let mut names: Vec<String> = deliverables()
        .await
        .iter()
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    let tt = |suffix: &str| format!("{product_id}_Turntable_36_frames_{tt_line}{suffix}");
    let mut expected = vec![
        name.clone(),
        report_name.clone(),
        format!("{product_id}_Still_2048_white_{first}.png"),
        format!("{product_id}_Still_2048_white_{first}_materials.json"),
        tt(".gif"),
        tt("_000.png"),
        tt("_001.png"),
        tt("_002.png"),
        tt("_materials.json"),
    ];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(outbox().await["total"], 4);

    // The outbox: debugger (or admin) reads it and marks what was sent.
    error_of(
        app.get("/api/notifications", &app.author).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let id = note["id"].as_str().expect("notification id");
    let sent = json_of(
        app.post(
            &format!("/api/notifications/{id}/delivered"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["delivered"], true);
    assert_eq!(outbox().await["total"], 3);
    let all = json_of(
        app.get("/api/notifications", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["total"], 4);
    error_of(
        app.get("/api/products/nope/deliverables", &app.author)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// The seeded legacy "Turntable 36 frames" renders for every order line of a product: the
/// default names carry the order line, so a second line's publish never meets the first's
/// names (`deliverable_exists` before), and a re-run of the first line replaces its own.
#[tokio::test]
async fn legacy_turntable_renders_again_for_other_order_lines() {
    let app = spawn_app_production().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let turntable = output_type(&app, "Turntable 36 frames").await;
    let small = json!({"render.turntable.frame_count": 2,
        "render.turntable.width": 32, "render.turntable.height": 32});
    let mut lines = Vec::new();
    for _ in 0..2 {
        let line = json_of(
            app.post(
                "/api/order-lines",
                &app.author,
                &json!({"product_id": product_id, "output_type_id": turntable,
                        "overrides": small}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        lines.push(line["id"].as_str().expect("id").to_owned());
    }
    let mut runs = Vec::new();
    for line in [&lines[0], &lines[1], &lines[0]] {
        let d = json_of(
            app.post(
                &format!("/api/order-lines/{line}/dispatch"),
                &app.debugger,
                &json!({}),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let run = finished(&app, d["run_id"].as_str().expect("run id")).await;
        assert_eq!(run["mode"], "legacy", "{run:#}");
        assert_eq!(run["status"], "succeeded", "line {line}: {run:#}");
        runs.push(run);
    }
    let listed = json_of(
        app.get(
            &format!("/api/products/{product_id}/deliverables"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let listed = listed["deliverables"].as_array().expect("deliverables");
    // Per line: the GIF, two PNG frames and the material report.
    for (line, run) in [(&lines[0], &runs[2]), (&lines[1], &runs[1])] {
        let own: Vec<&Value> = listed
            .iter()
            .filter(|d| d["order_line_id"] == line.as_str())
            .collect();
        assert_eq!(own.len(), 4, "{listed:#?}");
        assert!(own.iter().all(|d| d["run_id"] == run["id"]), "{own:#?}");
        assert!(
            own.iter()
                .any(|d| d["name"]
                    == format!("{product_id}_Turntable_36_frames_{line}.gif").as_str()),
            "{own:#?}"
        );
    }
    assert_eq!(listed.len(), 8, "{listed:#?}");
}

/// The viewer's "Render preview still" (`POST /api/workflows/{id}/preview`): the seeded
/// order_line starter renders the product twice (the second would have met the first's
/// deliverable names), each run recorded as a preview that is not authoritative; its still is
/// served, and the product has no deliverable and the outbox no notification afterwards.
#[tokio::test]
async fn previews_render_without_publishing_or_notifying() {
    let app = spawn_app_production().await;
    let product_id = product(&app, "gltf/Box.glb").await;
    let workflow_of = |family: &'static str| {
        let app = &app;
        async move {
            let list = json_of(
                app.get(&format!("/api/workflows?family={family}"), &app.author)
                    .await,
                StatusCode::OK,
            )
            .await;
            list[0]["id"].as_str().expect("seeded starter").to_owned()
        }
    };
    let starter = workflow_of("order_line").await;
    let body = json!({
        "inputs": {"product_id": product_id, "order_line_id": "viewer-preview"},
        "overrides": {"render.still.width": 48, "render.still.height": 48,
                      "material.resolve.missing_policy": "placeholder"}});
    let url = format!("/api/workflows/{starter}/preview");
    for _ in 0..2 {
        let started = json_of(
            app.post(&url, &app.debugger, &body).await,
            StatusCode::ACCEPTED,
        )
        .await;
        assert_eq!(started["runs"][0]["authoritative"], false, "{started:#}");
        let run = finished(&app, started["run_id"].as_str().expect("run id")).await;
        assert_eq!(run["status"], "succeeded", "{run:#}");
        assert_eq!(
            (&run["trigger"], &run["mode"], &run["authoritative"]),
            (&json!("preview"), &json!("graph"), &json!(false))
        );
        assert_eq!(run["deliverables"], json!([]), "{run:#}");
        // The publish step ran and says why it recorded nothing.
        let publish = run["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .find(|n| n["node_type"] == "output.publish")
            .expect("publish node");
        assert_eq!(publish["status"], "succeeded");
        assert!(
            publish["logs"]
                .as_array()
                .expect("logs")
                .iter()
                .any(|l| l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("preview run"))),
            "{publish:#}"
        );
        let still = run["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .find(|a| a["role"] == "still")
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("a still: {run:#}"))
            .to_owned();
        let png = app
            .get(&format!("/api/artifacts/{still}"), &app.debugger)
            .await;
        assert_eq!(png.status(), StatusCode::OK);
        assert_eq!(png.headers()["content-type"], "image/png");
        let bytes = png.bytes().await.expect("png bytes");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    }
    let delivered = json_of(
        app.get(
            &format!("/api/products/{product_id}/deliverables"),
            &app.author,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(delivered["deliverables"], json!([]), "{delivered:#}");
    let outbox = json_of(
        app.get("/api/notifications", &app.admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(outbox["total"], 0, "{outbox:#}");

    // Who may not dispatch may not preview; a cad_file workflow (its cad.publish writes the
    // product's processing results) is refused before anything runs.
    error_of(
        app.post(&url, &app.author, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let cad = workflow_of("cad_file").await;
    let refused = error_of(
        app.post(
            &format!("/api/workflows/{cad}/preview"),
            &app.debugger,
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "preview_unsupported",
    )
    .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cad_file")),
        "{refused:#}"
    );
}
