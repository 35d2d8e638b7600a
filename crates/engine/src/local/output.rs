//! What a local run leaves in its output directory: one file per artifact, named
//! `<node id>.<role>.<ext>`, and the run record `run.json`.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use workflow_contracts::ArtifactRole;

use crate::file_name::file_part;
use crate::runtime::{ArtifactRef, ArtifactSink, NodeStatus, RunReport};

/// The run record's file name in the output directory.
pub const RECORD_FILE: &str = "run.json";

/// The file extension for an artifact's media type.
pub fn extension_for(media_type: &str) -> &'static str {
    match media_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "model/gltf-binary" => "glb",
        "model/gltf+json" => "gltf",
        // `.usd` opens text and binary stages alike (OpenUSD reads the header).
        "model/vnd.usd" => "usd",
        "application/x-blender" => "blend",
        "application/json" => "json",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Writes each artifact straight into a directory as the node stores it; the artifact id is
/// its file name there.
pub struct DirArtifacts {
    dir: PathBuf,
    used: Mutex<HashSet<String>>,
}

impl DirArtifacts {
    pub fn new(dir: &Path) -> Self {
        DirArtifacts {
            dir: dir.to_path_buf(),
            used: Mutex::new(HashSet::from([RECORD_FILE.to_owned()])),
        }
    }

    /// `<node>.<role>.<ext>`, or `<node>.<role>-<n>.<ext>` for a node's n-th artifact of a role;
    /// turntable frames are numbered from the first, `<node>.turntable_frame-000.png`.
    fn claim_name(&self, node_id: &str, role: ArtifactRole, media_type: &str) -> String {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let (node, ext) = (file_part(node_id), extension_for(media_type));
        let sequence = role == ArtifactRole::TurntableFrame;
        let name_for = |n: usize| match (sequence, n) {
            (true, n) => format!("{node}.{role}-{n:03}.{ext}"),
            (false, 0) => format!("{node}.{role}.{ext}"),
            (false, n) => format!("{node}.{role}-{}.{ext}", n + 1),
        };
        let mut n = 0;
        let mut name = name_for(n);
        while used.contains(&name) {
            n += 1;
            name = name_for(n);
        }
        used.insert(name.clone());
        name
    }
}

impl ArtifactSink for DirArtifacts {
    fn store(
        &self,
        _run_id: &str,
        node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String> {
        let name = self.claim_name(node_id, role, media_type);
        let path = self.dir.join(&name);
        write_atomic(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(ArtifactRef {
            id: name,
            role,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
        })
    }
}

/// Keeps nothing: the artifacts of the product processing before an order-line run (the
/// product keeps what it needs through `cad.publish`).
pub(crate) struct Discard;

impl ArtifactSink for Discard {
    fn store(
        &self,
        run_id: &str,
        node_id: &str,
        role: ArtifactRole,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, String> {
        Ok(ArtifactRef {
            id: format!("{run_id}/{node_id}/{role}"),
            role,
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
        })
    }
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".part");
    let tmp = path.with_file_name(tmp_name);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn duration(start: Option<i64>, end: Option<i64>) -> Value {
    match (start, end) {
        (Some(s), Some(e)) => json!(e.saturating_sub(s)),
        _ => Value::Null,
    }
}

/// The nodes of `report` as recorded: each [`crate::runtime::NodeRun`] plus `duration_ms` and
/// each artifact's `path` (relative to the output directory: its id, see [`DirArtifacts`]).
pub(crate) fn node_records(report: &RunReport, with_paths: bool) -> Vec<Value> {
    report
        .nodes
        .iter()
        .map(|node| {
            let mut value = serde_json::to_value(node).unwrap_or(Value::Null);
            if let Some(obj) = value.as_object_mut() {
                obj.insert(
                    "duration_ms".into(),
                    duration(node.started_at, node.finished_at),
                );
                if with_paths {
                    let artifacts: Vec<Value> =
                        node.artifacts.iter().map(artifact_record).collect();
                    obj.insert("artifacts".into(), Value::Array(artifacts));
                }
            }
            value
        })
        .collect()
}

fn artifact_record(a: &ArtifactRef) -> Value {
    json!({"id": a.id, "role": a.role, "media_type": a.media_type, "size": a.size, "path": a.id})
}

/// The first failed node of `report` (the root cause of everything it skipped), as
/// `{node, node_type, code, message, details}`.
pub(crate) fn failure(report: &RunReport) -> Value {
    report
        .nodes
        .iter()
        .find(|n| n.status == NodeStatus::Failed)
        .and_then(|n| {
            let e = n.error.as_ref()?;
            Some(json!({
                "node": n.node_id,
                "node_type": n.node_type,
                "code": e.code,
                "message": e.message,
                "details": e.details,
            }))
        })
        .unwrap_or(Value::Null)
}

/// Ids of the nodes with `status`.
pub(crate) fn with_status(report: &RunReport, status: NodeStatus) -> Vec<&str> {
    report
        .nodes
        .iter()
        .filter(|n| n.status == status)
        .map(|n| n.node_id.as_str())
        .collect()
}

/// Every artifact of the run with its node and path.
pub(crate) fn artifact_records(report: &RunReport) -> Vec<Value> {
    report
        .artifacts()
        .map(|(node, a)| {
            let mut v = artifact_record(a);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("node_id".into(), json!(node));
            }
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_named_by_node_role_and_media_type() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = DirArtifacts::new(dir.path());
        let a = sink
            .store("r", "render", ArtifactRole::Still, "image/png", b"png")
            .expect("stored");
        assert_eq!(a.id, "render.still.png");
        let b = sink
            .store("r", "render", ArtifactRole::Still, "image/png", b"png2")
            .expect("stored");
        assert_eq!(b.id, "render.still-2.png");
        let c = sink
            .store(
                "r",
                "../x y",
                ArtifactRole::PartManifest,
                "application/json",
                b"{}",
            )
            .expect("stored");
        assert_eq!(c.id, "___x_y.part_manifest.json");
        let d = sink
            .store("r", "e", ArtifactRole::SceneExport, "model/x-unknown", b"")
            .expect("stored");
        assert_eq!(d.id, "e.scene_export.bin");
        assert_eq!(
            std::fs::read(dir.path().join("render.still-2.png")).expect("written"),
            b"png2"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".part")), "{names:?}");
    }

    #[test]
    fn turntable_frames_are_numbered_from_the_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = DirArtifacts::new(dir.path());
        let ids: Vec<_> = (0..3)
            .map(|_| {
                sink.store("r", "tt", ArtifactRole::TurntableFrame, "image/png", b"p")
                    .expect("stored")
                    .id
            })
            .collect();
        assert_eq!(
            ids,
            [
                "tt.turntable_frame-000.png",
                "tt.turntable_frame-001.png",
                "tt.turntable_frame-002.png"
            ]
        );
    }
}
