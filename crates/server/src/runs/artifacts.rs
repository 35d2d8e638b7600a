//! Run artifacts in the artifact store ([`crate::artifacts`]): one blob per artifact id under
//! `artifacts/<id>`. The engine hands each artifact's bytes over once, when a node stores it,
//! and it is written once (a rename on a directory, one PUT on a bucket), so a crash never
//! leaves a half-written artifact behind.

use crate::artifacts::{valid_key, BlobError, Blobs};
use workflow_contracts::ArtifactRole;
use workflow_engine::runtime::{ArtifactRef, ArtifactSink};

pub struct RunArtifacts {
    blobs: Blobs,
}

impl RunArtifacts {
    pub fn new(blobs: Blobs) -> Self {
        RunArtifacts { blobs }
    }

    /// The key of artifact `id`. Ids are UUIDs we generated; anything else is refused so a
    /// crafted id cannot name another blob.
    pub fn key(id: &str) -> Option<String> {
        let safe = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let key = format!("artifacts/{id}");
        (safe && valid_key(&key)).then_some(key)
    }

    /// The bytes of artifact `id`; None for an id we could not have made or bytes the store no
    /// longer has.
    pub fn bytes(&self, id: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match Self::key(id) {
            Some(key) => self.blobs.get(&key),
            None => Ok(None),
        }
    }

    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }
}

impl ArtifactSink for RunArtifacts {
    fn store(
        &self,
        _run_id: &str,
        _node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = format!("artifacts/{id}");
        // Node errors reach clients: name the artifact, not where it is kept.
        self.blobs
            .put(&key, bytes)
            .map_err(|e| format!("writing the {role:?} artifact {id}: {e}"))?;
        Ok(ArtifactRef {
            id,
            role,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
        })
    }
}

impl workflow_engine::compare::ArtifactSource for RunArtifacts {
    fn artifact_bytes(&self, artifact: &ArtifactRef) -> Result<Vec<u8>, String> {
        match self.bytes(&artifact.id) {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(format!(
                "artifact {}: not in the artifact store",
                artifact.id
            )),
            Err(e) => Err(format!("artifact {}: {e}", artifact.id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_id_and_refuses_crafted_ids() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RunArtifacts::new(crate::artifacts::open(None, dir.path()).expect("dir"));
        let a = store
            .store("r", "n", ArtifactRole::Still, "image/png", b"png")
            .expect("stored");
        assert_eq!(a.size, 3);
        assert_eq!(store.bytes(&a.id).expect("read"), Some(b"png".to_vec()));
        // The directory layout of before: <data dir>/artifacts/<id>.
        assert!(dir.path().join("artifacts").join(&a.id).is_file());
        assert!(RunArtifacts::key("../workflow-studio.db").is_none());
        assert!(RunArtifacts::key("").is_none());
        assert_eq!(store.bytes("../x").expect("refused quietly"), None);
    }
}
