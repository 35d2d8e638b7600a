//! The app speaks to the server through the API's wire types (`workflow_wire`) only: the one
//! thing it takes from `workflow_server` is the embedded server's entry point. A storage
//! record or any other server path used from `src/` would tie the app to the server's
//! internals (and let a storage change silently change what the app reads), so it fails here.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every mention of the server crate that is not `workflow_server::embedded::…`, as
/// `file:line: text`.
fn server_paths_besides_embedded(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("workflow_server") {
                let after = &rest[at + "workflow_server".len()..];
                if !after.starts_with("::embedded::") {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                    break;
                }
                rest = after;
            }
        }
    }
    found
}

#[test]
fn the_app_uses_only_the_embedded_entry_point_of_the_server() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = server_paths_besides_embedded(&src);
    assert!(
        found.is_empty(),
        "the app must take its API types from workflow_wire; only workflow_server::embedded \
         may be used from src/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_boundary_check_sees_grouped_imports_renames_and_store_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("app");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::write(
        nested.join("a.rs"),
        "use workflow_server::embedded::BackgroundServer;\n\
         use workflow_server::store::RunRecord;\n\
         use workflow_server::{embedded, api};\n\
         use workflow_server as ws;\n\
         let s = workflow_server::embedded::start_in_background(p);\n",
    )
    .expect("write");
    let found = server_paths_besides_embedded(dir.path());
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].ends_with(":2: use workflow_server::store::RunRecord;"));
}
