//! The behaviour every `Store` implementation must have, written against the trait and run
//! against the backend of this test run (SQLite, and PostgreSQL in scripts/test's second pass).

use crate::common::test_db_url;
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, Family, Registry};
use workflow_engine::materials::PbrMaterial;
use workflow_server::app::open_store;
use workflow_server::auth::Role;
use workflow_server::store::{
    NewDeliverable, NewOrderLine, NewPublication, NewRun, NotificationFilter, OrderLineFilter,
    ProductPublication, ProductRecord, PublishOutcome, SourceFile, Store, StoreError,
};

pub async fn store_contract(store: &dyn Store) {
    let registry = Registry::builtin();
    let order = starter_graph(Family::OrderLine, &registry);
    let cad = starter_graph(Family::CadFile, &registry);

    let a = store
        .create_workflow("a", &order, "create")
        .await
        .expect("create");
    let b = store
        .create_workflow("b", &cad, "create")
        .await
        .expect("create");
    assert_eq!((a.version, a.family), (1, Some(Family::OrderLine)));
    assert_eq!(store.get_workflow(&a.id).await.expect("get"), a);
    let cads = store
        .list_workflows(Some(Family::CadFile))
        .await
        .expect("list");
    assert_eq!(cads.iter().map(|w| &w.id).collect::<Vec<_>>(), [&b.id]);
    assert!(matches!(
        store.get_workflow("nope").await,
        Err(StoreError::NotFound(_))
    ));

    let a2 = store
        .update_workflow(&a.id, 1, "a2", &order, "update")
        .await
        .expect("update");
    assert_eq!(a2.version, 2);
    match store
        .update_workflow(&a.id, 1, "stale", &order, "update")
        .await
    {
        Err(StoreError::Conflict {
            current_version,
            current,
            ..
        }) => {
            assert_eq!(current_version, 2);
            assert_eq!(current["name"], "a2");
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(matches!(
        store
            .update_workflow("nope", 1, "x", &order, "update")
            .await,
        Err(StoreError::NotFound(_))
    ));
    let revs = store.list_revisions(&a.id).await.expect("revisions");
    assert_eq!(revs.iter().map(|r| r.revision).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(store.get_revision(&a.id, 1).await.expect("rev").name, "a");
    assert!(matches!(
        store.get_revision(&a.id, 7).await,
        Err(StoreError::NotFound(_))
    ));

    let spec = OutputTypeSpec {
        name: "o".into(),
        workflow_family: Family::OrderLine,
        artifact_kind: ArtifactKind::Still,
        workflow_id: Some(a.id.clone()),
        invocation_overrides: serde_json::Map::new(),
        legacy_settings: serde_json::json!({"w": 1}),
        rollout: Rollout::Graph,
        fallback_to_legacy: true,
    };
    let ot = store.create_output_type(&spec).await.expect("create ot");
    assert_eq!(store.get_output_type(&ot.id).await.expect("get ot"), ot);
    match store.delete_workflow(&a.id, 2).await {
        Err(StoreError::InUse { users, .. }) => assert_eq!(users[0].id, ot.id),
        other => panic!("expected in use, got {other:?}"),
    }
    assert!(matches!(
        store.delete_workflow(&a.id, 1).await,
        Err(StoreError::Conflict { .. })
    ));
    let mut detached = spec.clone();
    detached.workflow_id = None;
    detached.rollout = Rollout::Legacy;
    let ot2 = store
        .update_output_type(&ot.id, 1, &detached)
        .await
        .expect("update ot");
    assert_eq!((ot2.version, ot2.spec.workflow_id.clone()), (2, None));
    assert!(matches!(
        store.update_output_type(&ot.id, 1, &detached).await,
        Err(StoreError::Conflict {
            current_version: 2,
            ..
        })
    ));
    store
        .delete_workflow(&a.id, 2)
        .await
        .expect("delete now unused");
    assert!(matches!(
        store.list_revisions(&a.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_output_type(&ot.id, 1).await,
        Err(StoreError::Conflict { .. })
    ));
    store
        .delete_output_type(&ot.id, 2)
        .await
        .expect("delete ot");
    assert!(matches!(
        store.delete_output_type(&ot.id, 2).await,
        Err(StoreError::NotFound(_))
    ));

    store
        .create_token("hash-1", Role::Debugger, "t")
        .await
        .expect("token");
    assert_eq!(
        store.token_role("hash-1").await.expect("role"),
        Some(Role::Debugger)
    );
    assert_eq!(store.token_role("hash-2").await.expect("role"), None);

    assert_eq!(store.get_meta("k").await.expect("meta"), None);
    store.set_meta("k", "1").await.expect("set");
    store.set_meta("k", "2").await.expect("upsert");
    assert_eq!(
        store.get_meta("k").await.expect("meta").as_deref(),
        Some("2")
    );
}

/// Order lines and user materials, as every store must keep them.
pub async fn order_and_material_contract(store: &dyn Store) {
    let new = |product: &str, ot: &str| NewOrderLine {
        product_id: product.into(),
        output_type_id: ot.into(),
        overrides: serde_json::json!({"render.still.width": 128})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        quantity: 2,
        reference: Some("PO-1".into()),
        priority: -5,
    };
    let a = store.create_order_line(&new("p1", "ot1")).await.expect("a");
    let b = store.create_order_line(&new("p1", "ot2")).await.expect("b");
    store.create_order_line(&new("p2", "ot1")).await.expect("c");
    assert_eq!(store.get_order_line(&a.id).await.expect("get"), a);
    assert_eq!(
        (a.quantity, a.priority, a.last_run_id.as_deref()),
        (2, -5, None)
    );
    assert!(matches!(
        store.get_order_line("nope").await,
        Err(StoreError::NotFound(_))
    ));
    let filter = |product: Option<&str>, ot: Option<&str>, limit, offset| OrderLineFilter {
        product_id: product.map(str::to_owned),
        output_type_id: ot.map(str::to_owned),
        limit,
        offset,
    };
    let (lines, total) = store
        .list_order_lines(&filter(Some("p1"), None, 1, 0))
        .await
        .expect("list");
    assert_eq!((lines.len(), total), (1, 2));
    let (lines, total) = store
        .list_order_lines(&filter(Some("p1"), Some("ot1"), 10, 0))
        .await
        .expect("list");
    assert_eq!((lines, total), (vec![a.clone()], 1));
    let (_, total) = store
        .list_order_lines(&filter(None, None, 10, 0))
        .await
        .expect("list");
    assert_eq!(total, 3);
    store.set_order_line_run(&b.id, "run-1").await.expect("run");
    assert_eq!(
        store
            .get_order_line(&b.id)
            .await
            .expect("get")
            .last_run_id
            .as_deref(),
        Some("run-1")
    );
    assert!(matches!(
        store.set_order_line_run("nope", "run-1").await,
        Err(StoreError::NotFound(_))
    ));

    let mut m = PbrMaterial {
        name: "signal_red".into(),
        base_color: [0.5, 0.01, 0.02, 1.0],
        metallic: 0.0,
        roughness: 0.35,
        emissive: [0.0, 0.1, 0.0],
        opacity: 0.75,
    };
    store.create_material(&m).await.expect("create");
    assert!(matches!(
        store.create_material(&m).await,
        Err(StoreError::AlreadyExists(_))
    ));
    m.roughness = 0.6;
    assert!(!store.put_material(&m).await.expect("replace"));
    let mut n = m.clone();
    n.name = "blue".into();
    assert!(store.put_material(&n).await.expect("create"));
    assert_eq!(store.list_materials().await.expect("list"), vec![n, m]);
}

/// The job queue takes higher priorities first, FIFO within one.
pub async fn queue_priority_contract(store: &dyn Store) {
    let mut ids = Vec::new();
    for priority in [-1, 0, 1, 0, 1] {
        let run = store
            .create_run(
                &NewRun {
                    mode: Some(workflow_engine::runtime::RunMode::Graph),
                    trigger: "api".into(),
                    priority,
                    ..NewRun::default()
                },
                true,
            )
            .await
            .expect("run");
        ids.push(run.id);
    }
    let mut claimed = Vec::new();
    while let Some(job) = store.claim_job("contract", 60_000).await.expect("claim") {
        claimed.push(job.run_id);
    }
    let expected: Vec<&String> = [2, 4, 1, 3, 0].iter().map(|&i| &ids[i]).collect();
    assert_eq!(claimed.iter().collect::<Vec<_>>(), expected);
}

/// Job leases: a held job is never claimed twice; an expired lease lets another worker take
/// it (one more attempt) and tells the old owner it lost it; a hand-back requeues without
/// counting the attempt; a cancel request reaches the lease holder; start-up recovery
/// requeues expired jobs only.
pub async fn lease_contract(store: &dyn Store) {
    let new_run = || NewRun {
        mode: Some(workflow_engine::runtime::RunMode::Graph),
        trigger: "api".into(),
        ..NewRun::default()
    };
    let run = store.create_run(&new_run(), true).await.expect("run");
    let job = store
        .claim_job("w1", 60_000)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!((job.run_id.as_str(), job.attempts), (run.id.as_str(), 1));
    assert_eq!(
        store.claim_job("w2", 60_000).await.expect("claim"),
        None,
        "held"
    );
    let held = store.renew_lease(&job, "w1", 60_000).await.expect("renew");
    assert!(held.held && !held.cancel_requested, "{held:?}");
    assert!(
        !store
            .renew_lease(&job, "w2", 60_000)
            .await
            .expect("renew")
            .held
    );
    store.request_cancel(&run.id).await.expect("cancel asked");
    assert!(
        store
            .renew_lease(&job, "w1", 60_000)
            .await
            .expect("renew")
            .cancel_requested
    );
    // w1 dies: its lease runs out (0 ms), w2 takes the job, w1 finds out at its next beat.
    store.renew_lease(&job, "w1", 0).await.expect("renew");
    assert_eq!(
        store.requeue_expired_jobs(0).await.expect("requeue"),
        0,
        "not yet expired at 0"
    );
    let again = store
        .claim_job("w2", 60_000)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!((again.id.as_str(), again.attempts), (job.id.as_str(), 2));
    assert!(
        !store
            .renew_lease(&job, "w1", 60_000)
            .await
            .expect("renew")
            .held
    );
    // A stopping worker hands it back: queued again, the attempt not counted.
    assert!(!store.release_job(&job.id, "w1").await.expect("release"));
    assert!(store.release_job(&job.id, "w2").await.expect("release"));
    let third = store.claim_job("w3", 0).await.expect("claim").expect("job");
    assert_eq!((third.id.as_str(), third.attempts), (job.id.as_str(), 2));
    // Recovery requeues the expired job; a finished job is never claimed again.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert_eq!(
        store.requeue_expired_jobs(now + 1).await.expect("requeue"),
        1
    );
    let fourth = store
        .claim_job("w4", 60_000)
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(fourth.attempts, 3);
    assert_eq!(
        store.requeue_expired_jobs(0).await.expect("requeue"),
        0,
        "lease live"
    );
    store.set_job_status(&job.id, "done").await.expect("done");
    assert!(
        !store
            .renew_lease(&job, "w4", 60_000)
            .await
            .expect("renew")
            .held
    );
    assert_eq!(store.claim_job("w5", 0).await.expect("claim"), None);
}

/// A run's job re-run after its worker died publishes again: the same deliverable records
/// (naming the new attempt's artifacts), no `deliverable_exists`, one notification.
pub async fn publish_idempotent_contract(store: &dyn Store) {
    use workflow_contracts::ArtifactRole;
    let run = store
        .create_run(
            &NewRun {
                mode: Some(workflow_engine::runtime::RunMode::Graph),
                trigger: "api".into(),
                ..NewRun::default()
            },
            false,
        )
        .await
        .expect("run");
    let publication = |attempt: &str| NewPublication {
        product_id: "p-idem".into(),
        order_line_id: Some("l-idem".into()),
        run_id: run.id.clone(),
        node_id: "publish".into(),
        deliverables: ["x.png", "x.gif"]
            .iter()
            .map(|n| NewDeliverable {
                name: (*n).into(),
                role: ArtifactRole::Still,
                artifact_id: Some(format!("{attempt}-{n}")),
            })
            .collect(),
        overwrite: false,
        notify: true,
    };
    let first = store
        .publish_deliverables(&publication("a1"))
        .await
        .expect("publish");
    let before = store.list_deliverables("p-idem").await.expect("list");
    let second = store
        .publish_deliverables(&publication("a2"))
        .await
        .expect("publish again");
    let (
        PublishOutcome::Published {
            notification_id: Some(n1),
            ..
        },
        PublishOutcome::Published {
            replaced,
            notification_id: Some(n2),
        },
    ) = (&first, &second)
    else {
        panic!("both published: {first:?} {second:?}");
    };
    assert_eq!(n1, n2, "one notification per run");
    assert!(replaced.is_empty(), "{replaced:?}");
    let after = store.list_deliverables("p-idem").await.expect("list");
    assert_eq!(after.len(), 2);
    let ids = |list: &[workflow_server::store::DeliverableRecord]| {
        let mut ids: Vec<String> = list.iter().map(|d| d.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&before), ids(&after), "the same records");
    assert!(
        after.iter().all(|d| d
            .artifact_id
            .as_deref()
            .is_some_and(|a| a.starts_with("a2-"))),
        "{after:?}"
    );
    let notes = store
        .list_notifications(&NotificationFilter {
            delivered: None,
            order_line_id: Some("l-idem".into()),
            limit: 100,
            offset: 0,
        })
        .await
        .expect("notifications");
    assert_eq!(notes.1, 1, "{notes:?}");
}

/// Deliverables: one per product and name, all or nothing, replaced only with overwrite (or by
/// the same order line delivering again); notifications as an outbox.
pub async fn deliverable_contract(store: &dyn Store) {
    use workflow_contracts::ArtifactRole;
    let run = |mode| NewRun {
        mode: Some(mode),
        trigger: "api".into(),
        ..NewRun::default()
    };
    let graph = workflow_engine::runtime::RunMode::Graph;
    let r1 = store.create_run(&run(graph), false).await.expect("run");
    let r2 = store.create_run(&run(graph), false).await.expect("run");
    // r1 delivers order line l1, r2 another line (l2): only another line's name conflicts.
    let line_of = |run_id: &str| if run_id == r1.id { "l1" } else { "l2" };
    let publication = |run_id: &str, names: &[&str], overwrite, notify| NewPublication {
        product_id: "p1".into(),
        order_line_id: Some(line_of(run_id).into()),
        run_id: run_id.into(),
        node_id: "publish".into(),
        deliverables: names
            .iter()
            .map(|n| NewDeliverable {
                name: (*n).into(),
                role: ArtifactRole::Still,
                artifact_id: Some(format!("{run_id}-{n}")),
            })
            .collect(),
        overwrite,
        notify,
    };
    let first = store
        .publish_deliverables(&publication(&r1.id, &["a.png", "b.png"], false, true))
        .await
        .expect("publish");
    let PublishOutcome::Published {
        replaced,
        notification_id: Some(notification),
    } = first
    else {
        panic!("published with a notification: {first:?}");
    };
    assert!(replaced.is_empty());
    // overwrite off: an existing name (or one repeated) refuses everything.
    assert_eq!(
        store
            .publish_deliverables(&publication(&r2.id, &["c.png", "b.png"], false, true))
            .await
            .expect("refused"),
        PublishOutcome::Exists(vec!["b.png".into()])
    );
    assert_eq!(
        store
            .publish_deliverables(&publication(&r2.id, &["d.png", "d.png"], false, false))
            .await
            .expect("refused"),
        PublishOutcome::Exists(vec!["d.png".into()])
    );
    let listed = store.list_deliverables("p1").await.expect("list");
    assert_eq!(
        listed.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["a.png", "b.png"]
    );
    assert!(listed.iter().all(|d| d.run_id == r1.id));
    // overwrite on: the newer replaces; no notification without notify.
    assert_eq!(
        store
            .publish_deliverables(&publication(&r2.id, &["b.png"], true, false))
            .await
            .expect("replaced"),
        PublishOutcome::Published {
            replaced: vec!["b.png".into()],
            notification_id: None
        }
    );
    let listed = store.list_deliverables("p1").await.expect("list");
    let b = listed.iter().find(|d| d.name == "b.png").expect("b");
    assert_eq!(
        (b.run_id.as_str(), b.artifact_id.as_deref()),
        (r2.id.as_str(), Some(format!("{}-b.png", r2.id).as_str()))
    );
    assert!(store
        .list_deliverables("p2")
        .await
        .expect("list")
        .is_empty());

    let filter = |delivered| NotificationFilter {
        delivered,
        limit: 10,
        ..NotificationFilter::default()
    };
    let (pending, total) = store
        .list_notifications(&filter(Some(false)))
        .await
        .expect("outbox");
    assert_eq!(total, 1);
    assert_eq!(pending[0].id, notification);
    assert_eq!(pending[0].deliverables, ["a.png", "b.png"]);
    assert_eq!(
        (
            pending[0].order_line_id.as_deref(),
            pending[0].run_id.as_str()
        ),
        (Some("l1"), r1.id.as_str())
    );
    assert!(!pending[0].delivered);
    let sent = store
        .mark_notification_delivered(&notification)
        .await
        .expect("mark");
    assert!(sent.delivered && sent.delivered_at.is_some());
    assert_eq!(
        store
            .mark_notification_delivered(&notification)
            .await
            .expect("again"),
        sent
    );
    assert_eq!(
        store
            .list_notifications(&filter(Some(false)))
            .await
            .expect("outbox")
            .1,
        0
    );
    assert_eq!(
        store
            .list_notifications(&filter(None))
            .await
            .expect("all")
            .1,
        1
    );
    assert!(matches!(
        store.mark_notification_delivered("nope").await,
        Err(StoreError::NotFound(_))
    ));

    // A shadow run delivers nothing (and collides with nothing).
    let shadow = store
        .create_run(&run(workflow_engine::runtime::RunMode::Shadow), false)
        .await
        .expect("shadow");
    let items = [workflow_engine::modules::Deliverable {
        name: "a.png".into(),
        role: ArtifactRole::Still,
        artifact_id: None,
    }];
    let receipt = workflow_server::deliverables::publish(
        store,
        &workflow_engine::modules::DeliverablePublication {
            run_id: &shadow.id,
            node_id: "publish",
            product_id: "p1",
            order_line_id: None,
            deliverables: &items,
            overwrite: false,
            notify: true,
        },
    )
    .await
    .expect("a shadow run is no conflict");
    assert!(!receipt.recorded, "{receipt:?}");
    assert_eq!(store.list_deliverables("p1").await.expect("list").len(), 2);
}

/// A comparison is claimed once; a claim left pending by a process that stopped is released
/// (and can be claimed again), a finished one never is.
pub async fn comparison_claim_contract(store: &dyn Store) {
    use workflow_server::store::NewShadowComparison;
    let shadow = store
        .create_run(
            &NewRun {
                mode: Some(workflow_engine::runtime::RunMode::Shadow),
                trigger: "shadow".into(),
                ..NewRun::default()
            },
            false,
        )
        .await
        .expect("run");
    let claim = NewShadowComparison {
        shadow_run_id: shadow.id.clone(),
        legacy_run_id: "legacy-run".into(),
        output_type_id: None,
        workflow_id: None,
        workflow_version: None,
    };
    assert!(store.claim_shadow_comparison(&claim).await.expect("claim"));
    assert!(
        !store.claim_shadow_comparison(&claim).await.expect("claim"),
        "claimed once"
    );
    assert_eq!(
        store.release_pending_comparisons(0).await.expect("release"),
        0,
        "not older"
    );
    assert_eq!(
        store
            .release_pending_comparisons(i64::MAX)
            .await
            .expect("release"),
        1
    );
    assert!(store
        .get_shadow_comparison(&shadow.id)
        .await
        .expect("get")
        .is_none());
    assert!(
        store.claim_shadow_comparison(&claim).await.expect("claim"),
        "claimable again"
    );
    store
        .finish_shadow_comparison(&shadow.id, Some("pass"), None, None, None)
        .await
        .expect("finish");
    assert_eq!(
        store
            .release_pending_comparisons(i64::MAX)
            .await
            .expect("release"),
        0
    );
    let done = store
        .get_shadow_comparison(&shadow.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(done.verdict.as_deref(), Some("pass"));
}

/// Products: records, the material map's version check and the publication claim, each one
/// statement (what several servers rely on).
async fn product_contract(store: &dyn Store) {
    let record = |id: &str, created_at: i64| ProductRecord {
        id: id.into(),
        name: "Box".into(),
        file_name: "model/Box.gltf".into(),
        status: "uploaded".into(),
        processing_run_id: None,
        source_files: vec![SourceFile {
            name: "model/Box.gltf".into(),
            key: format!("products/{id}/files/0"),
            size: 12,
        }],
        manifest: None,
        material_map: None,
        material_map_version: 0,
        glb_key: None,
        thumbnail_key: None,
        published: 0,
        created_at,
        updated_at: created_at,
    };
    let (p1, p2) = ("p-1", "p-2");
    store.create_product(&record(p1, 1)).await.expect("create");
    store.create_product(&record(p2, 2)).await.expect("create");
    assert!(matches!(
        store.create_product(&record(p1, 3)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.get_product(p1).await.expect("get"), record(p1, 1));
    let ids: Vec<String> = store
        .list_products()
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [p2, p1], "newest first");
    assert!(matches!(
        store.get_product("nope").await,
        Err(StoreError::NotFound(_))
    ));

    let processing = store
        .set_product_processing(p1, "run-1")
        .await
        .expect("processing");
    assert_eq!(processing.status, "processing");
    assert_eq!(processing.processing_run_id.as_deref(), Some("run-1"));

    let map = serde_json::json!({"assignments": {"a": "Steel"}, "rules": []});
    assert_eq!(
        store
            .put_product_material_map(p1, 0, &map)
            .await
            .expect("save"),
        1
    );
    match store.put_product_material_map(p1, 0, &map).await {
        Err(StoreError::Conflict {
            current_version,
            current,
            ..
        }) => {
            assert_eq!(current_version, 1);
            assert_eq!(current, map);
        }
        other => panic!("a stale save must conflict: {other:?}"),
    }
    assert!(matches!(
        store.put_product_material_map("nope", 0, &map).await,
        Err(StoreError::NotFound(_))
    ));

    // One claim wins; a failed publication gives it back; replace always claims.
    assert!(store
        .claim_product_publication(p1, false)
        .await
        .expect("claim"));
    assert!(!store
        .claim_product_publication(p1, false)
        .await
        .expect("taken"));
    store
        .release_product_publication(p1)
        .await
        .expect("release");
    assert!(store
        .claim_product_publication(p1, false)
        .await
        .expect("again"));
    let publication = ProductPublication {
        glb_key: format!("products/{p1}/preview.glb"),
        thumbnail_key: None,
        manifest: Some(serde_json::json!({"parts": []})),
        mark_processed: true,
    };
    store
        .finish_product_publication(p1, &publication)
        .await
        .expect("finish");
    let done = store.get_product(p1).await.expect("get");
    assert_eq!(
        (
            done.status.as_str(),
            done.published,
            done.glb_key.as_deref()
        ),
        ("processed", 1, Some("products/p-1/preview.glb"))
    );
    assert_eq!(done.material_map, Some(map));
    assert!(!store
        .claim_product_publication(p1, false)
        .await
        .expect("published"));
    assert!(store
        .claim_product_publication(p1, true)
        .await
        .expect("replace"));
    assert!(matches!(
        store.claim_product_publication("nope", true).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().expect("dir");
    let url = test_db_url(dir.path()).await;
    let store = open_store(&url).await.expect("open");
    store_contract(store.as_ref()).await;
    order_and_material_contract(store.as_ref()).await;
    queue_priority_contract(store.as_ref()).await;
    lease_contract(store.as_ref()).await;
    deliverable_contract(store.as_ref()).await;
    publish_idempotent_contract(store.as_ref()).await;
    comparison_claim_contract(store.as_ref()).await;
    product_contract(store.as_ref()).await;
    // Migrations are idempotent: reopening the same database applies nothing new.
    let again = open_store(&url).await.expect("reopen");
    assert_eq!(
        again.get_meta("k").await.expect("meta").as_deref(),
        Some("2")
    );
}
