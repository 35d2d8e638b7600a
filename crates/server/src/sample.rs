//! The sample product of a first start: a new user can open it in the viewer and dispatch a
//! still straight away, before finding a CAD file of their own.
//!
//! It is uploaded and processed like a user's upload (through [`Products`] and the first
//! `cad_file` output type), with a small sample material library and a material map that
//! gives every part one of its materials. The bytes are compiled in (about 62 kB), so an
//! installed binary needs no file beside it. Seeding happens once per database, recorded in
//! `meta`, and only on a database that has never had a product or a run: a data directory a
//! user has worked in is never touched. The desktop app's embedded server asks for it;
//! `workflow-server serve` only with `--sample-product`, so team servers stay clean.

use crate::materials::{self, MaterialWriteError};
use crate::products::{ProductError, Products};
use crate::runs::dispatch::DispatchInput;
use crate::runs::RunService;
use crate::store::{RunFilter, Store, StoreError};
use serde_json::{json, Map, Value};
use workflow_contracts::Family;
use workflow_engine::materials::MaterialMap;

/// The `meta` key recording that the sample question was settled: the sample product's id,
/// or why none was seeded.
pub const META_KEY: &str = "sample_product";
/// The sample's file name (the product's name is its stem).
pub const FILE_NAME: &str = "NegativeScaleTest.glb";
/// The sample CAD file (CC BY 4.0, Analytical Graphics, Inc.; `assets/sample/LICENSE.md`).
pub const GLB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/sample/NegativeScaleTest.glb"
));
/// The sample material library, in the format `POST /api/materials` takes.
pub const MATERIALS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/sample/materials.json"
));
/// The sample product's material map (name rules over the library above).
pub const MATERIAL_MAP_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/sample/material-map.json"
));

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("the sample material library is invalid: {0}")]
    Materials(String),
    #[error("the sample material map is invalid: {0}")]
    MaterialMap(String),
    #[error(transparent)]
    Product(#[from] ProductError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the sample product was stored, but its processing was not dispatched: {0}")]
    Dispatch(String),
}

/// What [`seed_sample_product`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleOutcome {
    /// The sample product was created and its processing dispatched (`run_id`: none when no
    /// `cad_file` output type exists to process it).
    Seeded {
        product_id: String,
        run_id: Option<String>,
    },
    /// Settled on an earlier start (seeded then, or declined).
    AlreadySettled,
    /// The database has (or had) products or runs: a user's data, left alone.
    NotEmpty,
}

/// The sample material library.
pub fn sample_materials() -> Result<Vec<Map<String, Value>>, SampleError> {
    let doc: Value =
        serde_json::from_str(MATERIALS_JSON).map_err(|e| SampleError::Materials(e.to_string()))?;
    let list = doc
        .get("materials")
        .and_then(Value::as_array)
        .ok_or_else(|| SampleError::Materials("expected {\"materials\": [...]}".into()))?;
    list.iter()
        .map(|m| {
            m.as_object().cloned().ok_or_else(|| {
                SampleError::Materials(format!("a material must be an object, not {m}"))
            })
        })
        .collect()
}

/// The sample product's material map.
pub fn sample_material_map() -> Result<MaterialMap, SampleError> {
    serde_json::from_str(MATERIAL_MAP_JSON).map_err(|e| SampleError::MaterialMap(e.to_string()))
}

/// Seeds the sample product when this database never had a product or a run, once.
pub async fn seed_sample_product(
    store: &dyn Store,
    products: &Products,
    runs: &RunService,
) -> Result<SampleOutcome, SampleError> {
    if store.get_meta(META_KEY).await?.is_some() {
        return Ok(SampleOutcome::AlreadySettled);
    }
    // Products can be deleted, runs pruned: either one left means a user worked here.
    let any_run = RunFilter {
        limit: 1,
        ..RunFilter::default()
    };
    let (_, run_count) = store.list_runs(&any_run).await?;
    if !store.list_products().await?.is_empty() || run_count > 0 {
        store
            .set_meta(META_KEY, "declined: the database had products or runs")
            .await?;
        return Ok(SampleOutcome::NotEmpty);
    }
    for material in sample_materials()? {
        match materials::create(store, products, &material).await {
            // A user material of that name wins: the map still resolves against it.
            Ok(_) | Err(MaterialWriteError::Exists(_)) => {}
            Err(MaterialWriteError::Invalid(problems)) => {
                return Err(SampleError::Materials(format!("{problems:?}")))
            }
            Err(MaterialWriteError::Store(e)) => return Err(e.into()),
        }
    }
    let map = sample_material_map()?;
    let unknown = map.unknown_materials(&products.library());
    if !unknown.is_empty() {
        return Err(SampleError::MaterialMap(format!(
            "it names materials the library lacks: {unknown:?}"
        )));
    }
    let product = products.create(FILE_NAME, GLB).await?;
    // Recorded before anything else can fail: a second start never makes a second sample.
    store.set_meta(META_KEY, &product.id).await?;
    products.put_material_map(&product.id, 0, &map).await?;
    // Processed like an upload: the first cad_file output type, following its rollout.
    let output_types = store.list_output_types(Some(Family::CadFile)).await?;
    let Some(ot) = output_types.first() else {
        return Ok(SampleOutcome::Seeded {
            product_id: product.id,
            run_id: None,
        });
    };
    let mut inputs = Map::new();
    inputs.insert("product_id".into(), json!(product.id));
    let dispatched = runs
        .dispatch_output_type(
            ot,
            DispatchInput {
                inputs,
                overrides: Map::new(),
            },
        )
        .await
        .map_err(|e| SampleError::Dispatch(e.to_string()))?;
    let run_id = dispatched.first().map(|r| r.id.clone());
    if let Some(run_id) = &run_id {
        products.set_processing(&product.id, run_id).await?;
    }
    Ok(SampleOutcome::Seeded {
        product_id: product.id,
        run_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_engine::materials::default_library;

    #[test]
    fn the_sample_library_passes_the_material_rules() {
        let materials = sample_materials().expect("sample library");
        assert!(materials.len() >= 3);
        for m in &materials {
            materials::parse(None, m).unwrap_or_else(|p| panic!("{m:?}: {p:?}"));
        }
    }

    #[test]
    fn the_sample_map_names_only_sample_or_default_materials() {
        let mut library = default_library();
        for m in sample_materials().expect("sample library") {
            library
                .materials
                .push(materials::parse(None, &m).expect("valid"));
        }
        let map = sample_material_map().expect("sample map");
        assert!(map.unknown_materials(&library).is_empty());
        // The last rule catches every part: no part of the sample is left without material.
        assert_eq!(map.rules.last().map(|r| r.pattern.as_str()), Some("*"));
    }

    #[test]
    fn the_sample_is_a_small_glb() {
        assert_eq!(&GLB[..4], b"glTF");
        assert!(GLB.len() < 256 * 1024, "{} bytes", GLB.len());
    }
}
