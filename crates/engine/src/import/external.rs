//! What a glTF's external references (`buffers[].uri`, `images[].uri`) may reach: `data:`
//! URIs, and files inside the folder the glTF came with (an upload's own files, or the folder
//! of a file opened locally). Everything else — absolute paths, any `..` step, `file:` and
//! every other scheme, a symlink leading out — is refused before the gltf crate reads a
//! byte, so a file can never pull another file of the machine into a product.

use std::path::{Component, Path, PathBuf};

use super::ImportError;

/// Longest URI quoted back in an error (a data URI can be megabytes).
const SHOWN_URI_CHARS: usize = 120;

/// A file a glTF names beside itself: the name its URI gives it (decoded, relative to the
/// glTF's folder, `/`-separated: what an upload must call it) and where it is on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct SideFile {
    pub name: String,
    pub path: PathBuf,
}

/// One external reference of a document, with the JSON pointer it sits at.
struct Reference<'a> {
    pointer: String,
    uri: &'a str,
}

fn references(document: &gltf::Document) -> Vec<Reference<'_>> {
    let buffers = document.buffers().filter_map(|b| match b.source() {
        gltf::buffer::Source::Uri(uri) => Some(Reference {
            pointer: format!("/buffers/{}/uri", b.index()),
            uri,
        }),
        gltf::buffer::Source::Bin => None,
    });
    // From the JSON: the crate's `Image::source` unwraps a MIME type or URI the file may
    // lack.
    let images = document
        .as_json()
        .images
        .iter()
        .enumerate()
        .filter_map(|(i, image)| {
            Some(Reference {
                pointer: format!("/images/{i}/uri"),
                uri: image.uri.as_deref()?,
            })
        });
    buffers.chain(images).collect()
}

/// Checks every external reference of `document` against `base` (the folder the glTF's
/// own files are in; `None` when the glTF came as bytes with no folder, where only `data:`
/// URIs are possible).
/// The side files they name, each once.
pub(crate) fn check_references(
    document: &gltf::Document,
    base: Option<&Path>,
) -> Result<Vec<SideFile>, ImportError> {
    let mut files: Vec<SideFile> = Vec::new();
    for reference in references(document) {
        if let Some(file) = resolve(&reference, base)? {
            if !files.iter().any(|f| f.name == file.name) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// Largest glTF JSON the upload-time check reads (a `.gltf` bigger than this is still
/// checked in full when it is processed).
const MAX_CHECKED_JSON: u64 = 64 * 1024 * 1024;

/// The same check for a file on disk, before it is processed (an upload answers at once
/// rather than with a failed product; the app, before sending), answering the side files the
/// file names: reads only the JSON (the whole `.gltf`, or a GLB's JSON chunk). A file whose
/// JSON cannot be read is left to the import to report (no side files).
pub fn side_files(path: &Path) -> Result<Vec<SideFile>, ImportError> {
    use std::io::Read;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(Vec::new());
    };
    let mut head = [0u8; 20];
    let json = match file.read_exact(&mut head) {
        Ok(()) if head.starts_with(b"glTF") => {
            let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as u64;
            let mut json = Vec::new();
            if len > MAX_CHECKED_JSON || file.take(len).read_to_end(&mut json).is_err() {
                return Ok(Vec::new());
            }
            json
        }
        _ => {
            let mut json = Vec::new();
            let Ok(mut file) = std::fs::File::open(path) else {
                return Ok(Vec::new());
            };
            if file.metadata().map_or(true, |m| m.len() > MAX_CHECKED_JSON)
                || file.read_to_end(&mut json).is_err()
            {
                return Ok(Vec::new());
            }
            json
        }
    };
    let Ok(root) = serde_json::from_slice::<gltf::json::Root>(&json) else {
        return Ok(Vec::new());
    };
    let document = gltf::Document::from_json_without_validation(root);
    check_references(&document, path.parent())
}

/// Where `uri` (at `pointer`) points inside `base`, checked as above (`None` for `data:`):
/// the import reads buffers and images only through this.
pub(crate) fn resolve_uri(
    pointer: &str,
    uri: &str,
    base: Option<&Path>,
) -> Result<Option<PathBuf>, ImportError> {
    let reference = Reference {
        pointer: pointer.to_owned(),
        uri,
    };
    Ok(resolve(&reference, base)?.map(|file| file.path))
}

fn shown(uri: &str) -> String {
    if uri.chars().count() <= SHOWN_URI_CHARS {
        uri.to_owned()
    } else {
        let head: String = uri.chars().take(SHOWN_URI_CHARS).collect();
        format!("{head}…")
    }
}

/// Where `reference` points inside `base` (`None` for a `data:` URI).
fn resolve(
    reference: &Reference<'_>,
    base: Option<&Path>,
) -> Result<Option<SideFile>, ImportError> {
    let uri = reference.uri;
    if uri.starts_with("data:") {
        return Ok(None);
    }
    let refuse = |reason: &str| ImportError::ExternalReferenceRefused {
        pointer: reference.pointer.clone(),
        uri: shown(uri),
        reason: reason.to_owned(),
    };
    // The gltf crate treats anything with a colon as a scheme (`file:`, `http:`, a drive
    // letter): only `data:` is read.
    if uri.contains(':') {
        return Err(refuse("only data: URIs and relative file names are read"));
    }
    // The gltf crate percent-decodes relative URIs before it opens them: judge the decoded
    // name, exactly what would be opened.
    let decoded = urlencoding::decode(uri)
        .map_err(|_| refuse("its percent-encoding does not decode to UTF-8"))?;
    if decoded.contains('\\') || decoded.contains('\0') || decoded.contains(':') {
        return Err(refuse(
            "backslashes, NUL and colons are not allowed in file names",
        ));
    }
    let relative = Path::new(decoded.as_ref());
    let mut name: Vec<&str> = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => name.extend(part.to_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(refuse("`..` would leave the glTF's own folder"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("absolute paths are not read"));
            }
        }
    }
    let Some(base) = base else {
        return Err(refuse(
            "this glTF was given as bytes without its side files: embed them (GLB or data: URIs)",
        ));
    };
    let missing = || ImportError::MissingSideFile {
        pointer: reference.pointer.clone(),
        uri: shown(uri),
    };
    let candidate = base.join(relative);
    let real = candidate.canonicalize().map_err(|_| missing())?;
    // A symlink inside the folder must not lead out of it.
    let real_base = base.canonicalize().map_err(|_| missing())?;
    if !real.starts_with(&real_base) {
        return Err(refuse("it leads out of the glTF's own folder (a link)"));
    }
    if !real.is_file() {
        return Err(missing());
    }
    Ok(Some(SideFile {
        name: name.join("/"),
        path: real,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, base: Option<&Path>) -> Result<Option<SideFile>, ImportError> {
        resolve(
            &Reference {
                pointer: "/buffers/0/uri".into(),
                uri,
            },
            base,
        )
    }

    fn code(uri: &str, base: Option<&Path>) -> &'static str {
        match check(uri, base) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn hostile_references_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = Some(dir.path());
        for uri in [
            "/etc/passwd",
            "../../../../etc/passwd",
            "file:///etc/passwd",
            "file:/etc/passwd",
            "http://example.invalid/a.bin",
            "%2e%2e/%2e%2e/etc/passwd",
            "%2Fetc%2Fpasswd",
            "sub/../../x.bin",
            "..\\x.bin",
            "C:\\Windows\\win.ini",
            "%ff%fe.bin",
        ] {
            assert_eq!(code(uri, base), "external_reference_refused", "{uri}");
        }
        // Without a folder no file is reachable at all.
        assert_eq!(code("a.bin", None), "external_reference_refused");
        assert_eq!(
            code("data:application/octet-stream;base64,AAAA", None),
            "ok"
        );
    }

    #[test]
    fn files_inside_the_folder_resolve_and_missing_ones_are_named() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("tex")).expect("mkdir");
        std::fs::write(dir.path().join("tex/a b.png"), b"x").expect("write");
        std::fs::write(dir.path().join("m.bin"), b"x").expect("write");
        let base = Some(dir.path());
        assert_eq!(code("m.bin", base), "ok");
        assert_eq!(code("./tex/a%20b.png", base), "ok");
        // Named as the upload must name it: decoded, relative, `/`-separated.
        let side = check("./tex/a%20b.png", base)
            .expect("resolves")
            .expect("a file");
        assert_eq!(side.name, "tex/a b.png");
        assert!(side.path.ends_with("tex/a b.png"));
        let err = check("gone.bin", base).expect_err("missing");
        assert_eq!(err.code(), "missing_side_file");
        assert!(err.to_string().contains("gone.bin"), "{err}");
        assert!(!err.to_string().contains(&dir.path().display().to_string()));
        // A directory is not a side file.
        assert_eq!(code("tex", base), "missing_side_file");
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_folder_are_refused() {
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("secret.bin"), b"secret").expect("write");
        let dir = tempfile::tempdir().expect("tmp");
        std::os::unix::fs::symlink(outside.path().join("secret.bin"), dir.path().join("s.bin"))
            .expect("symlink");
        assert_eq!(
            code("s.bin", Some(dir.path())),
            "external_reference_refused"
        );
    }

    #[test]
    fn long_uris_are_shortened_in_messages() {
        let uri = format!("/{}", "a".repeat(5000));
        let err = check(&uri, None).expect_err("refused");
        assert!(err.to_string().len() < 600, "{}", err.to_string().len());
    }
}
