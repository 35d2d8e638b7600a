//! Deliverables and notifications: what `output.publish` records through the engine's
//! [`DeliverableSink`], stored in the database (tables `deliverables`, `notifications`).
//!
//! The engine's modules are synchronous and run on blocking threads; [`StoreDeliverables`]
//! bridges them to the async store with the runtime handle bound at start. Only authoritative
//! runs deliver: a shadow or preview run's `output.publish` records nothing (and checks
//! nothing), so a shadow run never collides with the legacy run it shadows and a preview never
//! publishes or notifies.

use crate::store::{NewDeliverable, NewPublication, PublishOutcome, Store, StoreError};
use std::sync::{Arc, OnceLock};
use workflow_engine::modules::{
    DeliverableError, DeliverablePublication, DeliverableReceipt, DeliverableSink,
};

/// The server's [`DeliverableSink`]: records into the store it is bound to.
#[derive(Default)]
pub struct StoreDeliverables {
    bound: OnceLock<(Arc<dyn Store>, tokio::runtime::Handle)>,
}

impl std::fmt::Debug for StoreDeliverables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreDeliverables")
            .field("bound", &self.bound.get().is_some())
            .finish()
    }
}

impl StoreDeliverables {
    /// Binds the store and the runtime its futures run on (once; later calls are ignored).
    pub fn bind(&self, store: Arc<dyn Store>, handle: tokio::runtime::Handle) {
        let _ = self.bound.set((store, handle));
    }
}

fn store_error(e: StoreError) -> DeliverableError {
    DeliverableError::Store(e.to_string())
}

/// Records `p` unless its run is not authoritative (shadow, preview).
pub async fn publish(
    store: &dyn Store,
    p: &DeliverablePublication<'_>,
) -> Result<DeliverableReceipt, DeliverableError> {
    let run = store.get_run(p.run_id).await.map_err(store_error)?;
    if !run.authoritative {
        let what = if run.is_preview() {
            "preview"
        } else {
            run.mode.as_str()
        };
        return Ok(DeliverableReceipt {
            recorded: false,
            note: Some(format!(
                "run {} is a {what} run: its deliverables are never delivered",
                run.id
            )),
            ..DeliverableReceipt::default()
        });
    }
    let publication = NewPublication {
        product_id: p.product_id.to_owned(),
        order_line_id: p.order_line_id.map(str::to_owned),
        run_id: p.run_id.to_owned(),
        node_id: p.node_id.to_owned(),
        deliverables: p
            .deliverables
            .iter()
            .map(|d| NewDeliverable {
                name: d.name.clone(),
                role: d.role,
                artifact_id: d.artifact_id.clone(),
            })
            .collect(),
        overwrite: p.overwrite,
        notify: p.notify,
    };
    match store
        .publish_deliverables(&publication)
        .await
        .map_err(store_error)?
    {
        PublishOutcome::Published {
            replaced,
            notification_id,
        } => Ok(DeliverableReceipt {
            recorded: true,
            replaced,
            notification_id,
            note: None,
        }),
        PublishOutcome::Exists(names) => Err(DeliverableError::Exists {
            product_id: p.product_id.to_owned(),
            names,
        }),
    }
}

impl DeliverableSink for StoreDeliverables {
    fn publish(
        &self,
        p: DeliverablePublication<'_>,
    ) -> Result<DeliverableReceipt, DeliverableError> {
        let (store, handle) = self.bound.get().ok_or_else(|| {
            DeliverableError::Store("the deliverable store is not bound to a database".into())
        })?;
        // Modules run on the runtime's blocking threads, where blocking on a future is allowed.
        handle.block_on(publish(store.as_ref(), &p))
    }
}
