//! The artifact store: one interface for every file a server or worker shares with the others
//! (uploaded CAD files, products' preview GLBs and thumbnails, run artifacts). Two kinds,
//! chosen by one option (`--artifacts`, see [`open`]):
//!
//! - a directory every host mounts (NFS-style; by default the data directory itself, so an
//!   embedded install keeps today's layout): writes go to a temporary name and are renamed;
//! - an S3-compatible bucket through `object_store` (single PUT, or a multipart upload for
//!   large files: both become visible whole or not at all).
//!
//! Keys are ours: ids and fixed names joined by `/` (`products/<uuid>/preview.glb`,
//! `artifacts/<uuid>`), never a name a user chose. The interface is synchronous because the
//! engine's modules (which read sources and write artifacts) run on blocking threads; async
//! callers go through `spawn_blocking`. The S3 kind runs its requests on a small runtime of its
//! own, so it can be called from any thread.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files at most this large go up in one PUT; larger ones in a multipart upload.
const SINGLE_PUT_LIMIT: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// A key we would never make (a bug or a crafted id): refused before any I/O.
    #[error("artifact key `{0}` is not one of ours")]
    BadKey(String),
    #[error("artifact store ({store}): {key}: {message}")]
    Io {
        store: String,
        key: String,
        message: String,
    },
    #[error("artifact store option `{spec}`: {reason}")]
    Config { spec: String, reason: String },
}

/// Where shared files live. Every write is atomic: a reader sees the old bytes, the new ones,
/// or nothing, never part of a file.
pub trait BlobStore: Send + Sync + 'static {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError>;
    /// Stores the local file `path` under `key` (streamed: memory stays bounded).
    fn put_file(&self, key: &str, path: &Path) -> Result<u64, BlobError>;
    /// The bytes under `key`, None when there are none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// Copies `key` to the local file `dest` (atomically); false when there is no such key.
    fn fetch_to(&self, key: &str, dest: &Path) -> Result<bool, BlobError>;
    fn exists(&self, key: &str) -> Result<bool, BlobError>;
    /// Removes `key` (no error when it is already gone).
    fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Every key under `prefix/`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
    /// What this store is, for logs and docs (never a credential): `directory /srv/x`,
    /// `s3://bucket/prefix`.
    fn describe(&self) -> String;
}

/// Shared handle to the configured store.
pub type Blobs = Arc<dyn BlobStore>;

/// Whether `key` is one we make: `/`-separated segments of ASCII letters, digits, `-`, `_`
/// and `.`, no empty, `.` or `..` segment.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

fn checked(key: &str) -> Result<&str, BlobError> {
    if valid_key(key) {
        Ok(key)
    } else {
        Err(BlobError::BadKey(key.chars().take(200).collect()))
    }
}

/// Opens the store an `--artifacts` option names: `s3://BUCKET[/PREFIX]` (credentials, region
/// and endpoint from the standard `AWS_*` variables), a directory path, or nothing (the data
/// directory itself, today's layout).
pub fn open(spec: Option<&str>, data_dir: &Path) -> Result<Blobs, BlobError> {
    match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Arc::new(DirBlobs::new(data_dir.to_path_buf()))),
        Some(spec) if spec.starts_with("s3://") => Ok(Arc::new(S3Blobs::open(spec)?)),
        Some(spec) if spec.contains("://") => Err(BlobError::Config {
            spec: spec.to_owned(),
            reason: "use a directory path or s3://BUCKET/PREFIX".into(),
        }),
        Some(dir) => Ok(Arc::new(DirBlobs::new(PathBuf::from(dir)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Directory

/// A directory (local, or mounted on every host). Temporary files are hidden names in the
/// target's own folder, so the final rename never crosses filesystems.
#[derive(Debug)]
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    pub fn new(root: PathBuf) -> Self {
        DirBlobs { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        Ok(self.root.join(checked(key)?))
    }

    fn io(&self, key: &str, e: impl std::fmt::Display) -> BlobError {
        // The message names the key and the error, not the server's path.
        BlobError::Io {
            store: "directory".into(),
            key: key.to_owned(),
            message: e.to_string(),
        }
    }

    /// A fresh temporary name beside `path`.
    fn temp_beside(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map_or_else(|| "blob".into(), |n| n.to_string_lossy().into_owned());
        path.with_file_name(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()))
    }

    fn write_with(
        &self,
        key: &str,
        fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<u64>,
    ) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        let tmp = Self::temp_beside(&path);
        let run = || -> std::io::Result<u64> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::File::create(&tmp)?;
            let n = fill(&mut file)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            Ok(n)
        };
        run().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io(key, e)
        })
    }
}

impl BlobStore for DirBlobs {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        self.write_with(key, |f| f.write_all(bytes).map(|_| bytes.len() as u64))
            .map(|_| ())
    }

    fn put_file(&self, key: &str, src: &Path) -> Result<u64, BlobError> {
        self.write_with(key, |f| std::io::copy(&mut std::fs::File::open(src)?, f))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match std::fs::read(self.path(key)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(key, e)),
        }
    }

    fn fetch_to(&self, key: &str, dest: &Path) -> Result<bool, BlobError> {
        let src = self.path(key)?;
        if !src.is_file() {
            return Ok(false);
        }
        let tmp = Self::temp_beside(dest);
        // A hard link costs nothing on the same filesystem; a copy otherwise.
        let run = || -> std::io::Result<()> {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if std::fs::hard_link(&src, &tmp).is_err() {
                std::fs::copy(&src, &tmp)?;
            }
            std::fs::rename(&tmp, dest)
        };
        run().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io(key, e)
        })?;
        Ok(true)
    }

    fn exists(&self, key: &str) -> Result<bool, BlobError> {
        Ok(self.path(key)?.is_file())
    }

    fn delete(&self, key: &str) -> Result<(), BlobError> {
        match std::fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(key, e)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let base = self.path(prefix)?;
        let mut out = Vec::new();
        let mut stack = vec![(base, prefix.to_owned())];
        while let Some((dir, key)) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io(&key, e)),
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = format!("{key}/{name}");
                // Temporary files of writes in progress are not blobs yet.
                if !valid_key(&child) || name.starts_with('.') {
                    continue;
                }
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push((entry.path(), child)),
                    Ok(t) if t.is_file() => out.push(child),
                    _ => {}
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }
}

// ---------------------------------------------------------------------------------------------
// S3

/// An S3-compatible bucket (AWS, MinIO, Ceph, moto…), keys under an optional prefix.
pub struct S3Blobs {
    store: Arc<dyn object_store::ObjectStore>,
    prefix: String,
    shown: String,
    /// Files larger than this go up in a multipart upload.
    single_put_limit: u64,
    /// Runs the requests, so synchronous callers on any thread (a module's blocking thread, an
    /// async handler through `spawn_blocking`) can wait for them.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Drop for S3Blobs {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside async code: let it go quietly.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl S3Blobs {
    /// `s3://BUCKET[/PREFIX]`; everything else from `AWS_*` (see docs/deploy.md).
    pub fn open(spec: &str) -> Result<Self, BlobError> {
        let config = |reason: String| BlobError::Config {
            spec: spec.to_owned(),
            reason,
        };
        let rest = spec
            .strip_prefix("s3://")
            .ok_or_else(|| config("expected s3://BUCKET/PREFIX".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_owned();
        if bucket.is_empty() {
            return Err(config("no bucket named".into()));
        }
        if !prefix.is_empty() && !valid_key(&prefix) {
            return Err(config(
                "the prefix may hold letters, digits, '-', '_', '.' and '/' only".into(),
            ));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| config(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("artifact-s3")
            .enable_all()
            .build()
            .map_err(|e| config(format!("cannot start its I/O threads: {e}")))?;
        Ok(S3Blobs {
            store: Arc::new(store),
            prefix,
            shown: spec.trim_end_matches('/').to_owned(),
            single_put_limit: SINGLE_PUT_LIMIT,
            runtime: Some(runtime),
        })
    }

    /// Files larger than `bytes` go up in a multipart upload (tests use a small limit).
    pub fn with_single_put_limit(mut self, bytes: u64) -> Self {
        self.single_put_limit = bytes;
        self
    }

    fn location(&self, key: &str) -> Result<object_store::path::Path, BlobError> {
        let key = checked(key)?;
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        object_store::path::Path::parse(full).map_err(|e| BlobError::BadKey(e.to_string()))
    }

    fn io(&self, key: &str, e: impl std::fmt::Display) -> BlobError {
        BlobError::Io {
            store: self.shown.clone(),
            key: key.to_owned(),
            message: e.to_string(),
        }
    }

    /// Runs `fut` on the store's own runtime and waits for it (from any thread).
    fn wait<T: Send + 'static>(
        &self,
        key: &str,
        fut: impl std::future::Future<Output = Result<T, BlobError>> + Send + 'static,
    ) -> Result<T, BlobError> {
        let Some(rt) = &self.runtime else {
            return Err(self.io(key, "the store is shut down"));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(self.io(key, "the request was dropped")))
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

/// Names a failed request (store and key), for errors made inside the request futures.
#[derive(Clone)]
struct Failing {
    store: String,
    key: String,
}

impl Failing {
    fn err(&self, e: impl std::fmt::Display) -> BlobError {
        BlobError::Io {
            store: self.store.clone(),
            key: self.key.clone(),
            message: e.to_string(),
        }
    }
}

impl S3Blobs {
    fn failing(&self, key: &str) -> Failing {
        Failing {
            store: self.shown.clone(),
            key: key.to_owned(),
        }
    }
}

impl BlobStore for S3Blobs {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        // One PUT: the object appears whole or not at all.
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.wait(key, async move {
            store
                .put(&loc, payload)
                .await
                .map(|_| ())
                .map_err(|e| f.err(e))
        })
    }

    fn put_file(&self, key: &str, src: &Path) -> Result<u64, BlobError> {
        let size = std::fs::metadata(src).map_err(|e| self.io(key, e))?.len();
        if size <= self.single_put_limit {
            let bytes = std::fs::read(src).map_err(|e| self.io(key, e))?;
            self.put(key, &bytes)?;
            return Ok(size);
        }
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        let src = src.to_path_buf();
        self.wait(key, async move {
            // A multipart upload becomes visible only when completed.
            let upload = store.put_multipart(&loc).await.map_err(|e| f.err(e))?;
            let mut writer = object_store::WriteMultipart::new(upload);
            let mut file = tokio::fs::File::open(&src).await.map_err(|e| f.err(e))?;
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = tokio::io::AsyncReadExt::read(&mut file, &mut buf)
                    .await
                    .map_err(|e| f.err(e))?;
                if n == 0 {
                    break;
                }
                // Bounded memory: at most a few parts in flight.
                writer.wait_for_capacity(4).await.map_err(|e| f.err(e))?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(|e| f.err(e))?;
            Ok(size)
        })
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        self.wait(key, async move {
            match store.get(&loc).await {
                Ok(r) => Ok(Some(r.bytes().await.map_err(|e| f.err(e))?.to_vec())),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(f.err(e)),
            }
        })
    }

    fn fetch_to(&self, key: &str, dest: &Path) -> Result<bool, BlobError> {
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        let dest = dest.to_path_buf();
        let tmp = DirBlobs::temp_beside(&dest);
        self.wait(key, async move {
            let got = match store.get(&loc).await {
                Ok(r) => r,
                Err(e) if not_found(&e) => return Ok(false),
                Err(e) => return Err(f.err(e)),
            };
            // Streamed to a temporary name beside the target, then renamed.
            let result = async {
                if let Some(parent) = dest.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let mut file = tokio::fs::File::create(&tmp).await?;
                let mut stream = got.into_stream();
                while let Some(chunk) = tokio_stream::StreamExt::next(&mut stream).await {
                    let chunk = chunk.map_err(std::io::Error::other)?;
                    tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
                }
                tokio::io::AsyncWriteExt::flush(&mut file).await?;
                drop(file);
                tokio::fs::rename(&tmp, &dest).await
            }
            .await;
            match result {
                Ok(()) => Ok(true),
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    Err(f.err(e))
                }
            }
        })
    }

    fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        self.wait(key, async move {
            match store.head(&loc).await {
                Ok(_) => Ok(true),
                Err(e) if not_found(&e) => Ok(false),
                Err(e) => Err(f.err(e)),
            }
        })
    }

    fn delete(&self, key: &str) -> Result<(), BlobError> {
        let (loc, store, f) = (self.location(key)?, self.store.clone(), self.failing(key));
        self.wait(key, async move {
            match store.delete(&loc).await {
                Ok(()) => Ok(()),
                Err(e) if not_found(&e) => Ok(()),
                Err(e) => Err(f.err(e)),
            }
        })
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let (loc, store, f) = (
            self.location(prefix)?,
            self.store.clone(),
            self.failing(prefix),
        );
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        self.wait(prefix, async move {
            let mut stream = store.list(Some(&loc));
            let mut out = Vec::new();
            while let Some(meta) = tokio_stream::StreamExt::next(&mut stream).await {
                let full = meta.map_err(|e| f.err(e))?.location.to_string();
                out.push(full.strip_prefix(&strip).unwrap_or(&full).to_owned());
            }
            out.sort();
            Ok(out)
        })
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ours_only() {
        for ok in [
            "artifacts/0b1c-2d",
            "products/a/files/0",
            "products/x/preview.glb",
        ] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "./a",
            "a/b c",
            "a\\b",
            "ä",
            "a/",
        ] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn open_names_the_kind() {
        let dir = tempfile::tempdir().expect("tmp");
        assert!(open(None, dir.path())
            .expect("default")
            .describe()
            .starts_with("directory"));
        let err = open(Some("ftp://x/y"), dir.path()).err().expect("refused");
        assert!(err.to_string().contains("s3://BUCKET/PREFIX"), "{err}");
        let err = open(Some("s3:///p"), dir.path()).err().expect("no bucket");
        assert!(err.to_string().contains("no bucket"), "{err}");
    }
}
