//! The behaviour every `Store` implementation must have, written against the trait so the
//! PostgreSQL store can run the same function later. Run here against SQLite.

use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, Family, Registry};
use workflow_server::app::{open_store, sqlite_url_in};
use workflow_server::auth::Role;
use workflow_server::store::{Store, StoreError};

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

#[tokio::test]
async fn sqlite_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open_store(&sqlite_url_in(dir.path()).expect("url"))
        .await
        .expect("open");
    store_contract(store.as_ref()).await;
    // Migrations are idempotent: reopening the same file applies nothing new.
    let again = open_store(&sqlite_url_in(dir.path()).expect("url"))
        .await
        .expect("reopen");
    assert_eq!(
        again.get_meta("k").await.expect("meta").as_deref(),
        Some("2")
    );
}
