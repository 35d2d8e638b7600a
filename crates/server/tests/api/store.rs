//! The behaviour every `Store` implementation must have, written against the trait so the
//! PostgreSQL store can run the same function later. Run here against SQLite.

use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, Family, Registry};
use workflow_engine::materials::PbrMaterial;
use workflow_server::app::{open_store, sqlite_url_in};
use workflow_server::auth::Role;
use workflow_server::store::{NewOrderLine, OrderLineFilter, Store, StoreError};

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

#[tokio::test]
async fn sqlite_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open_store(&sqlite_url_in(dir.path()).expect("url"))
        .await
        .expect("open");
    store_contract(store.as_ref()).await;
    order_and_material_contract(store.as_ref()).await;
    // Migrations are idempotent: reopening the same file applies nothing new.
    let again = open_store(&sqlite_url_in(dir.path()).expect("url"))
        .await
        .expect("reopen");
    assert_eq!(
        again.get_meta("k").await.expect("meta").as_deref(),
        Some("2")
    );
}
