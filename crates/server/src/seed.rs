//! First-start data: starter workflows for both families and the legacy output types, so a
//! fresh install can render what the legacy system rendered. Runs once per database.

use crate::store::{note, Store, StoreResult};
use serde_json::{json, Map, Value};
use workflow_contracts::output_type::{ArtifactKind, OutputTypeSpec, Rollout};
use workflow_contracts::{starter_graph, Family, Registry};

const SEED_KEY: &str = "seed";
const SEED_VERSION: &str = "1";

/// Seeds an empty database; a database that was seeded before is left alone (idempotent).
pub async fn seed(store: &dyn Store, registry: &Registry) -> StoreResult<bool> {
    if store.get_meta(SEED_KEY).await?.is_some() {
        return Ok(false);
    }
    store
        .create_workflow(
            "Starter: CAD file processing",
            &starter_graph(Family::CadFile, registry),
            note::SEED,
        )
        .await?;
    store
        .create_workflow(
            "Starter: order line still",
            &starter_graph(Family::OrderLine, registry),
            note::SEED,
        )
        .await?;
    for spec in legacy_output_types() {
        store.create_output_type(&spec).await?;
    }
    store.set_meta(SEED_KEY, SEED_VERSION).await?;
    Ok(true)
}

fn overrides(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The legacy presets, as the legacy renderer stored them, with matching overrides so the
/// graph path renders the same thing once a workflow is attached.
pub fn legacy_output_types() -> Vec<OutputTypeSpec> {
    let legacy = |name: &str, family, kind, ov: Map<String, Value>, settings| OutputTypeSpec {
        name: name.to_owned(),
        workflow_family: family,
        artifact_kind: kind,
        workflow_id: None,
        invocation_overrides: ov,
        legacy_settings: settings,
        rollout: Rollout::Legacy,
        fallback_to_legacy: true,
    };
    vec![
        legacy(
            "Still 2048 white",
            Family::OrderLine,
            ArtifactKind::Still,
            overrides(&[
                ("render.still.width", json!(2048)),
                ("render.still.height", json!(2048)),
                ("render.still.background", json!("#ffffff")),
            ]),
            json!({"renderer": "legacy", "kind": "still", "width": 2048, "height": 2048,
                   "background": "#ffffff", "format": "png"}),
        ),
        legacy(
            "Turntable 36 frames",
            Family::OrderLine,
            ArtifactKind::Turntable,
            overrides(&[("render.turntable.frame_count", json!(36))]),
            json!({"renderer": "legacy", "kind": "turntable", "frames": 36, "degrees": 360,
                   "width": 1024, "height": 1024, "background": "#ffffff"}),
        ),
        legacy(
            "Scene export",
            Family::OrderLine,
            ArtifactKind::SceneExport,
            overrides(&[("export.scene.format", json!("glb"))]),
            json!({"renderer": "legacy", "kind": "blend_export", "format": "glb"}),
        ),
        legacy(
            "CAD thumbnail",
            Family::CadFile,
            ArtifactKind::Thumbnail,
            overrides(&[
                ("render.thumbnail.width", json!(512)),
                ("render.thumbnail.height", json!(512)),
            ]),
            json!({"renderer": "legacy", "kind": "thumbnail", "width": 512, "height": 512}),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_contracts::output_type::validate_output_type;

    #[test]
    fn legacy_output_types_pass_the_contract_rules() {
        let registry = Registry::builtin();
        for spec in legacy_output_types() {
            let problems = validate_output_type(&spec, None, &registry);
            assert!(problems.is_empty(), "{}: {problems:#?}", spec.name);
        }
    }
}
