//! Receiving a CAD upload: one request with several files (a `.gltf` and its side files; a
//! STEP or GLB alone) or one `.zip` of them. Files are streamed into a private staging folder
//! as they arrive, so memory stays bounded whatever the size; the total is capped, names are
//! judged before anything is written under them, and only the upload's own files are ever
//! beside the main file when the engine reads it (its external references are checked here
//! too, so a hostile `.gltf` is refused at once rather than as a failed product).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use workflow_engine::import::{side_files, ImportError, CAD_EXTENSIONS};

/// Most files one upload may hold (a glTF with its buffers and textures; a zip's entries).
pub const MAX_FILES: usize = 1000;
/// Longest file name (with its folders) accepted, in bytes.
const MAX_NAME_BYTES: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("file name `{name}` refused: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("the upload holds `{0}` twice")]
    DuplicateName(String),
    #[error("the upload holds more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the upload holds no CAD file: expected one .glb, .gltf, .step or .stp among {0:?}")]
    NoCadFile(Vec<String>),
    #[error(
        "the upload holds several CAD files ({0:?}): name the one to import in the `main` field"
    )]
    SeveralCadFiles(Vec<String>),
    #[error("`main` names `{0}`, which is not among the uploaded files")]
    UnknownMain(String),
    #[error("zip archive `{name}`: {reason}")]
    BadZip { name: String, reason: String },
    #[error("{0}")]
    Reference(#[from] ImportError),
    #[error("storing the upload: {0}")]
    Io(#[from] std::io::Error),
}

impl UploadError {
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::TooLarge { .. } => "payload_too_large",
            UploadError::InvalidName { .. } => "invalid_file_name",
            UploadError::DuplicateName(_) => "duplicate_file_name",
            UploadError::TooManyFiles => "too_many_files",
            UploadError::NoCadFile(_) => "unsupported_format",
            UploadError::SeveralCadFiles(_) | UploadError::UnknownMain(_) => "ambiguous_upload",
            UploadError::BadZip { .. } => "malformed_zip",
            UploadError::Reference(e) => e.code(),
            UploadError::Io(_) => "upload_io",
        }
    }
}

/// The relative path a file name stands for, when it may be one: plain folder and file
/// names (as a glTF's relative URIs name them), no absolute paths, `..`, backslashes,
/// colons or control characters.
pub fn relative_name(name: &str) -> Result<PathBuf, UploadError> {
    let refuse = |reason| UploadError::InvalidName {
        name: name.chars().take(200).collect(),
        reason,
    };
    if name.is_empty() {
        return Err(refuse("it is empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(refuse("it is longer than 512 bytes"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == ':')
    {
        return Err(refuse(
            "control characters, backslashes and colons are not allowed",
        ));
    }
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse("`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("absolute paths are not allowed"))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(refuse("it names no file"));
    }
    Ok(out)
}

fn extension(name: &str) -> Option<String> {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// An upload being received into `dir` (removed again unless [`StagedUpload::finish`] hands
/// it on).
#[derive(Debug)]
pub struct StagedUpload {
    dir: tempfile::TempDir,
    /// The files received so far, by the name the client gave (relative, `/`-separated).
    names: Vec<String>,
    received: u64,
    limit: u64,
}

/// A finished upload: its folder and the main file in it.
#[derive(Debug)]
pub struct ReceivedUpload {
    pub dir: tempfile::TempDir,
    /// The main CAD file, relative to `dir`.
    pub main: String,
    /// Every file of the upload, relative to `dir` (`/`-separated).
    pub names: Vec<String>,
}

impl StagedUpload {
    /// Starts an upload in a new private folder under `staging_root`, at most `limit` bytes.
    pub fn new(staging_root: &Path, limit: u64) -> Result<Self, UploadError> {
        std::fs::create_dir_all(staging_root)?;
        Ok(StagedUpload {
            dir: tempfile::Builder::new()
                .prefix("upload-")
                .tempdir_in(staging_root)?,
            names: Vec::new(),
            received: 0,
            limit,
        })
    }

    /// Opens the file `name` for writing (checked, never seen before in this upload).
    pub fn open_file(&mut self, name: &str) -> Result<std::fs::File, UploadError> {
        let relative = relative_name(name)?;
        let shown = relative.to_string_lossy().into_owned();
        if self.names.contains(&shown) {
            return Err(UploadError::DuplicateName(shown));
        }
        if self.names.len() >= MAX_FILES {
            return Err(UploadError::TooManyFiles);
        }
        let path = self.dir.path().join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // A name that is a folder of an earlier file (`a` after `a/b.bin`) fails here.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|_| UploadError::InvalidName {
                name: shown.clone(),
                reason: "it clashes with a folder of another file",
            })?;
        self.names.push(shown);
        Ok(file)
    }

    /// Counts `n` more bytes against the limit.
    pub fn count(&mut self, n: usize) -> Result<(), UploadError> {
        self.received = self.received.saturating_add(n as u64);
        if self.received > self.limit {
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// Ends the upload: unpacks a lone `.zip`, picks the main CAD file (`main` when the
    /// client named one) and checks what its references may reach.
    pub fn finish(mut self, main: Option<&str>) -> Result<ReceivedUpload, UploadError> {
        if let [only] = self.names.as_slice() {
            if extension(only).as_deref() == Some("zip") {
                let only = only.clone();
                self.unzip(&only)?;
            }
        }
        let main = self.main_file(main)?;
        side_files(&self.dir.path().join(&main))?;
        Ok(ReceivedUpload {
            dir: self.dir,
            main,
            names: self.names,
        })
    }

    fn main_file(&self, main: Option<&str>) -> Result<String, UploadError> {
        if let Some(main) = main.filter(|m| !m.is_empty()) {
            let wanted = relative_name(main)?.to_string_lossy().into_owned();
            return self
                .names
                .iter()
                .find(|n| **n == wanted)
                .cloned()
                .ok_or(UploadError::UnknownMain(wanted));
        }
        let cad: Vec<&String> = self
            .names
            .iter()
            .filter(|n| extension(n).is_some_and(|e| CAD_EXTENSIONS.contains(&e.as_str())))
            .collect();
        match cad.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(UploadError::NoCadFile(self.names.clone())),
            several => Err(UploadError::SeveralCadFiles(
                several.iter().map(|n| (*n).clone()).collect(),
            )),
        }
    }

    /// Replaces the zip `name` by its entries, each judged like an uploaded file's name and
    /// counted against the same limit as it is inflated (sizes a zip declares can lie).
    fn unzip(&mut self, name: &str) -> Result<(), UploadError> {
        let bad = |reason: String| UploadError::BadZip {
            name: name.to_owned(),
            reason,
        };
        let zip_path = self.dir.path().join(name);
        let file = std::fs::File::open(&zip_path)?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
        if archive.len() > MAX_FILES {
            return Err(UploadError::TooManyFiles);
        }
        self.names.clear();
        self.received = 0;
        let unpacked = self.dir.path().join(".unpacked");
        std::fs::create_dir(&unpacked)?;
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
            if entry.is_dir() {
                continue;
            }
            let entry_name = entry
                .name()
                .map_err(|e| bad(format!("entry {i} has an unreadable name: {e}")))?
                .into_owned();
            if entry.is_symlink() {
                return Err(bad(format!("entry `{entry_name}` is a link")));
            }
            let relative = relative_name(&entry_name)?;
            let shown = relative.to_string_lossy().into_owned();
            if self.names.contains(&shown) {
                return Err(UploadError::DuplicateName(shown));
            }
            let path = unpacked.join(&relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|_| UploadError::InvalidName {
                    name: shown.clone(),
                    reason: "it clashes with a folder of another file",
                })?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| bad(format!("entry `{shown}`: {e}")))?;
                if n == 0 {
                    break;
                }
                self.count(n)?;
                out.write_all(&buf[..n])?;
            }
            self.names.push(shown);
        }
        drop(archive);
        std::fs::remove_file(&zip_path)?;
        // Move the entries up so the folder holds exactly the archive's files.
        for entry in std::fs::read_dir(&unpacked)? {
            let entry = entry?;
            std::fs::rename(entry.path(), self.dir.path().join(entry.file_name()))?;
        }
        std::fs::remove_dir(&unpacked)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(limit: u64) -> (tempfile::TempDir, StagedUpload) {
        let root = tempfile::tempdir().expect("tmp");
        let staged = StagedUpload::new(root.path(), limit).expect("staging");
        (root, staged)
    }

    fn put(staged: &mut StagedUpload, name: &str, bytes: &[u8]) -> Result<(), UploadError> {
        let mut f = staged.open_file(name)?;
        staged.count(bytes.len())?;
        f.write_all(bytes)?;
        Ok(())
    }

    #[test]
    fn abandoned_uploads_are_removed_and_live_ones_kept() {
        let root = tempfile::tempdir().expect("tmp");
        let products = crate::products::Products::new(
            root.path().to_path_buf(),
            crate::artifacts::open(None, root.path()).expect("directory"),
        );
        let abandoned = StagedUpload::new(&products.staging_dir(), 10).expect("staging");
        let abandoned = abandoned.dir.keep();
        let live = StagedUpload::new(&products.staging_dir(), 10).expect("staging");
        assert_eq!(
            products.remove_abandoned_uploads(std::time::Duration::from_secs(3600)),
            0,
            "young folders are kept"
        );
        assert_eq!(
            products.remove_abandoned_uploads(std::time::Duration::ZERO),
            2
        );
        assert!(!abandoned.exists());
        drop(live);
    }

    #[test]
    fn names_are_judged() {
        for bad in [
            "",
            "/etc/passwd",
            "../x.bin",
            "a/../../x",
            "a\\b",
            "c:x",
            "a\nb",
            ".",
        ] {
            assert!(relative_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            relative_name("./tex/a b.png").expect("ok"),
            PathBuf::from("tex/a b.png")
        );
    }

    #[test]
    fn the_limit_counts_every_file() {
        let (_root, mut s) = staged(10);
        put(&mut s, "a.gltf", b"12345").expect("fits");
        let err = put(&mut s, "a.bin", b"123456").expect_err("over");
        assert_eq!(err.code(), "payload_too_large");
    }

    #[test]
    fn duplicates_and_clashes_are_refused() {
        let (_root, mut s) = staged(1000);
        put(&mut s, "a/b.bin", b"1").expect("ok");
        assert_eq!(
            put(&mut s, "a/b.bin", b"1").expect_err("dup").code(),
            "duplicate_file_name"
        );
        assert_eq!(
            put(&mut s, "a", b"1").expect_err("clash").code(),
            "invalid_file_name"
        );
    }

    #[test]
    fn the_main_file_is_the_one_cad_file_or_named() {
        let (_root, mut s) = staged(1000);
        put(&mut s, "m.bin", b"1").expect("ok");
        assert_eq!(
            s.main_file(None).expect_err("none").code(),
            "unsupported_format"
        );
        put(&mut s, "a.glb", b"1").expect("ok");
        assert_eq!(s.main_file(None).expect("one"), "a.glb");
        put(&mut s, "b.step", b"1").expect("ok");
        assert_eq!(
            s.main_file(None).expect_err("two").code(),
            "ambiguous_upload"
        );
        assert_eq!(s.main_file(Some("b.step")).expect("named"), "b.step");
        assert_eq!(
            s.main_file(Some("c.step")).expect_err("unknown").code(),
            "ambiguous_upload"
        );
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            w.write_all(bytes).expect("write");
        }
        w.finish().expect("finish");
        out.into_inner()
    }

    #[test]
    fn a_zip_is_unpacked_and_judged() {
        let (_root, mut s) = staged(1 << 20);
        let bytes = zip_of(&[("model/a.gltf", b"{}"), ("model/a.bin", b"1234")]);
        put(&mut s, "upload.zip", &bytes).expect("ok");
        let received = s.finish(None).expect("unzips");
        assert_eq!(received.main, "model/a.gltf");
        assert!(received.dir.path().join("model/a.bin").is_file());
        assert!(!received.dir.path().join("upload.zip").exists());

        let (_root, mut s) = staged(1 << 20);
        let bytes = zip_of(&[("../evil.gltf", b"{}")]);
        put(&mut s, "upload.zip", &bytes).expect("ok");
        assert_eq!(
            s.finish(None).expect_err("zip slip").code(),
            "invalid_file_name"
        );
    }

    #[test]
    fn a_zip_bomb_stops_at_the_limit() {
        let (_root, mut s) = staged(64 * 1024);
        let big = vec![0u8; 1024 * 1024];
        let bytes = zip_of(&[("a.glb", &big)]);
        assert!(bytes.len() < 64 * 1024, "compressed {}", bytes.len());
        put(&mut s, "bomb.zip", &bytes).expect("ok");
        assert_eq!(
            s.finish(None).expect_err("bomb").code(),
            "payload_too_large"
        );
    }

    #[test]
    fn hostile_references_are_refused_at_upload() {
        let (_root, mut s) = staged(1 << 20);
        let gltf =
            br#"{"asset":{"version":"2.0"},"buffers":[{"uri":"/etc/passwd","byteLength":4}]}"#;
        put(&mut s, "a.gltf", gltf).expect("ok");
        let err = s.finish(None).expect_err("refused");
        assert_eq!(err.code(), "external_reference_refused");
        assert!(err.to_string().contains("/etc/passwd"), "{err}");

        let (_root, mut s) = staged(1 << 20);
        let gltf = br#"{"asset":{"version":"2.0"},"buffers":[{"uri":"a.bin","byteLength":4}]}"#;
        put(&mut s, "a.gltf", gltf).expect("ok");
        let err = s.finish(None).expect_err("missing");
        assert_eq!(err.code(), "missing_side_file");
        assert!(err.to_string().contains("a.bin"), "{err}");
    }
}
