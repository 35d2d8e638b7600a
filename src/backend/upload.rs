//! Adding a product from the app: the files a user chose or dropped become one upload (a
//! `.gltf` brings the side files it names from its own folder), checked here with the same
//! rules the server applies, then streamed with progress and followed while it processes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use workflow_engine::import::{side_files, CAD_EXTENSIONS};

use super::client::ApiClient;

/// How an upload goes, reported as it happens (`id` is the app's own number for it).
#[derive(Debug, Clone, PartialEq)]
pub enum UploadEvent {
    /// Bytes of the files sent so far.
    Sent { id: u64, sent: u64 },
    /// Stored as a product; its processing run has `done` of `total` nodes finished.
    Processing { id: u64, done: usize, total: usize },
    /// Processed: the product can be opened and rendered.
    Finished { id: u64, product_id: String },
    /// Refused or failed, with the server's reason (naming the file).
    Failed { id: u64, message: String },
}

impl UploadEvent {
    /// The upload this event is about.
    pub fn id(&self) -> u64 {
        match self {
            UploadEvent::Sent { id, .. }
            | UploadEvent::Processing { id, .. }
            | UploadEvent::Finished { id, .. }
            | UploadEvent::Failed { id, .. } => *id,
        }
    }
}

/// Longest a product's processing is followed.
const PROCESSING_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Shortest time between two progress reports of the sending (a repaint each).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Sends `set` and follows the product's processing until it is final, reporting each step.
pub async fn upload_and_follow(
    client: ApiClient,
    set: UploadSet,
    id: u64,
    report: impl Fn(UploadEvent) + Clone + Send + Sync + 'static,
) {
    let last = std::sync::Mutex::new(Instant::now() - PROGRESS_EVERY);
    let progress = {
        let report = report.clone();
        move |sent: u64| {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= PROGRESS_EVERY {
                *last = Instant::now();
                report(UploadEvent::Sent { id, sent });
            }
        }
    };
    let failed = |message: String| UploadEvent::Failed { id, message };
    let answer = match client.upload_product(&set, progress).await {
        Ok(answer) => answer,
        Err(e) => return report(failed(format!("{}: {e}", set.main))),
    };
    report(UploadEvent::Sent {
        id,
        sent: set.total_bytes,
    });
    let product_id = answer["product"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let run_id = answer["run_id"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    loop {
        match client.run(&run_id).await {
            Ok(run) => {
                let done = run.nodes.iter().filter(|n| n.status.is_final()).count();
                let total = run
                    .graph
                    .as_ref()
                    .map_or(run.nodes.len(), |g| g.nodes.len())
                    .max(done);
                report(UploadEvent::Processing { id, done, total });
                if run.status.is_final() {
                    break;
                }
            }
            Err(e) => return report(failed(format!("{}: {e}", set.main))),
        }
        if started.elapsed() > PROCESSING_LIMIT {
            return report(failed(format!(
                "{}: still processing after {} minutes; see Runs",
                set.main,
                PROCESSING_LIMIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    match client.product(&product_id).await {
        Ok(product) if product["status"] == "processed" => {
            report(UploadEvent::Finished { id, product_id })
        }
        Ok(product) => {
            let reason = product["error"]["message"]
                .as_str()
                .unwrap_or("processing failed; see Runs");
            // The server's reason names the uploaded file already (and its product).
            let message = if reason.contains(&set.main) {
                reason.to_owned()
            } else {
                format!("{}: {reason}", set.main)
            };
            report(failed(message))
        }
        Err(e) => report(failed(format!("{}: {e}", set.main))),
    }
}

/// What the app sends as one product: the main CAD file and the files beside it, each with
/// the name the upload gives it (relative to the main file's folder, `/`-separated).
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSet {
    /// The main file's name as the user knows it (shown in progress and errors).
    pub main: String,
    pub files: Vec<(String, PathBuf)>,
    pub total_bytes: u64,
}

/// Extensions the upload takes as a product's main file (the CAD formats and a `.zip` of them).
pub fn is_product_file(path: &Path) -> bool {
    extension(path).is_some_and(|e| e == "zip" || CAD_EXTENSIONS.contains(&e.as_str()))
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The uploads `paths` make: one per CAD file or zip (a dropped `.gltf` with its `.bin`
/// and textures is one product, not three). Files that are neither and are not named by a
/// chosen `.gltf` are reported, as is a `.gltf` whose references leave its folder.
pub fn upload_sets(paths: &[PathBuf]) -> (Vec<UploadSet>, Vec<String>) {
    let mut sets = Vec::new();
    let mut problems = Vec::new();
    // Where the chosen glTFs' side files are (resolved, as the engine answers them).
    let mut named: Vec<PathBuf> = Vec::new();
    for path in paths.iter().filter(|p| is_product_file(p)) {
        match upload_set(path) {
            Ok(set) => {
                named.extend(set.files.iter().skip(1).map(|(_, p)| p.clone()));
                sets.push(set);
            }
            Err(message) => problems.push(message),
        }
    }
    for path in paths.iter().filter(|p| !is_product_file(p)) {
        if !path.canonicalize().is_ok_and(|p| named.contains(&p)) {
            problems.push(format!(
                "{}: not a CAD file (expected .glb, .gltf, .step, .stp or a .zip of them)",
                display_name(path)
            ));
        }
    }
    (sets, problems)
}

/// One upload for the CAD file or zip at `path`.
pub fn upload_set(path: &Path) -> Result<UploadSet, String> {
    let main = display_name(path);
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", display_name(p)))
    };
    let mut files = vec![(main.clone(), path.to_path_buf())];
    let mut total_bytes = size(path)?;
    if extension(path).as_deref() == Some("gltf") {
        // The server's own check: it would refuse the file the same way, and it names the
        // side files as the server will look for them.
        for side in side_files(path).map_err(|e| format!("{main}: {e}"))? {
            total_bytes += size(&side.path)?;
            files.push((side.name, side.path));
        }
    }
    Ok(UploadSet {
        main,
        files,
        total_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        std::env::var("WORKFLOW_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                [
                    here.join("../shared/fixtures"),
                    PathBuf::from("/work/shared/fixtures"),
                ]
                .into_iter()
                .find(|p| p.exists())
                .unwrap_or_else(|| here.join("../shared/fixtures"))
            })
    }

    #[test]
    fn a_gltf_brings_its_side_files() {
        let gltf = fixtures().join("gltf/SimpleMeshes/SimpleMeshes.gltf");
        let set = upload_set(&gltf).expect("set");
        assert_eq!(set.main, "SimpleMeshes.gltf");
        let names: Vec<&str> = set.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["SimpleMeshes.gltf", "triangle.bin"]);
        assert!(set.total_bytes > 0);
    }

    #[test]
    fn dropped_files_group_into_products() {
        let dir = fixtures().join("gltf");
        let (sets, problems) = upload_sets(&[
            dir.join("SimpleMeshes/SimpleMeshes.gltf"),
            dir.join("SimpleMeshes/triangle.bin"),
            dir.join("Box.glb"),
            PathBuf::from("/tmp/notes.txt"),
        ]);
        assert_eq!(sets.len(), 2, "{sets:?}");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("notes.txt"));
    }

    #[test]
    fn a_gltf_reaching_outside_its_folder_is_refused_before_sending() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("evil.gltf");
        std::fs::write(
            &path,
            r#"{"asset":{"version":"2.0"},"buffers":[{"uri":"../../etc/passwd","byteLength":4}]}"#,
        )
        .expect("write");
        let err = upload_set(&path).expect_err("refused");
        assert!(
            err.contains("evil.gltf") && err.contains("../../etc/passwd"),
            "{err}"
        );
    }
}
