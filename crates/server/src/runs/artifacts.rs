//! The artifact store on disk: one file per artifact id under `<data dir>/artifacts`, written
//! to a temporary name and renamed so a crash never leaves a half-written artifact behind.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use workflow_contracts::ArtifactRole;
use workflow_engine::runtime::{ArtifactRef, ArtifactSink};

pub struct DiskArtifacts {
    dir: PathBuf,
}

impl DiskArtifacts {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(DiskArtifacts { dir })
    }

    /// Where the bytes of artifact `id` live. Ids are UUIDs we generated; anything else is
    /// refused so a crafted id cannot name a path outside the store.
    pub fn path(&self, id: &str) -> Option<PathBuf> {
        let safe = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        safe.then(|| self.dir.join(id))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl ArtifactSink for DiskArtifacts {
    fn store(
        &self,
        _run_id: &str,
        _node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String> {
        let id = uuid::Uuid::new_v4().to_string();
        let path = self.dir.join(&id);
        let tmp = self.dir.join(format!("{id}.part"));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        // Node errors reach clients: name the artifact, not where it is kept.
        write().map_err(|e| format!("writing the {role:?} artifact {id}: {e}"))?;
        Ok(ArtifactRef {
            id,
            role,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
        })
    }
}

impl workflow_engine::compare::ArtifactSource for DiskArtifacts {
    fn artifact_bytes(&self, artifact: &ArtifactRef) -> Result<Vec<u8>, String> {
        let path = self
            .path(&artifact.id)
            .ok_or_else(|| format!("artifact id '{}' is not one of ours", artifact.id))?;
        std::fs::read(&path).map_err(|e| format!("artifact {}: {e}", artifact.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_id_and_refuses_crafted_ids() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = DiskArtifacts::new(dir.path().join("artifacts")).expect("dir");
        let a = store
            .store("r", "n", ArtifactRole::Still, "image/png", b"png")
            .expect("stored");
        assert_eq!(a.size, 3);
        let path = store.path(&a.id).expect("uuid id");
        assert_eq!(std::fs::read(path).expect("bytes"), b"png");
        assert!(store.path("../workflow-studio.db").is_none());
        assert!(store.path("").is_none());
    }
}
