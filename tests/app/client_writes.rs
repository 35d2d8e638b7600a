//! Files the app writes with names that come from the server: a hostile (or buggy) server
//! that names a node `../../evil` still gets every saved frame and artifact inside the folder
//! the user chose, under a plain file name.

use std::path::{Path, PathBuf};
use workflow_studio::app::artifacts::{
    path_in, run_artifacts, suggested_file_name, write_frames_into,
};
use workflow_studio::backend::client::ApiClient;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn frames_and_artifacts_named_by_the_server_land_inside_the_chosen_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = workflow_server::embedded::start_in_background(&dir.path().join("server"))
        .expect("server starts");
    let product = crate::runs_production::upload(&server, "gltf/Box.glb");
    let client = ApiClient::new(&server.url, &server.admin_token);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let page = client
            .runs(&[("product_id", product.clone())], 10, 0)
            .await
            .expect("runs");
        let run = client
            .run(&page.runs.first().expect("the processing run").id)
            .await
            .expect("run");
        let mut items = run_artifacts(&run.nodes);
        assert!(!items.is_empty(), "{:#?}", run.nodes);
        // What a hostile server could answer: node ids and roles that are paths.
        for item in &mut items {
            item.node_id = "../../evil".into();
            item.role = "../../../etc/cron.d/x".into();
        }
        let out = tempfile::tempdir().expect("out dir");
        let folder = out.path().join("a").join("b").join("frames");
        std::fs::create_dir_all(&folder).expect("folder");
        let written = write_frames_into(&client, &folder, &items)
            .await
            .expect("frames written");
        assert_eq!(written.len(), items.len());
        for (path, item) in written.iter().zip(&items) {
            assert_eq!(path.parent(), Some(folder.as_path()), "{}", path.display());
            let name = path.file_name().and_then(|n| n.to_str()).expect("name");
            assert!(name.ends_with(".png") && !name.starts_with('.'), "{name}");
            assert!(!name.contains(".."), "{name}");
            let (bytes, _) = client.artifact(&item.id).await.expect("artifact");
            assert_eq!(std::fs::read(path).expect("written file"), bytes);
        }
        // Nothing anywhere else under the output tree (`../../evil…` would be in `a/`).
        let mut everything = files_under(out.path());
        everything.sort();
        let mut expected = written.clone();
        expected.sort();
        assert_eq!(everything, expected);

        // A single artifact's suggested name is one plain file name in the folder too.
        let name = suggested_file_name(&items[0]);
        let path = path_in(&folder, &name).expect("plain name");
        assert_eq!(path.parent(), Some(folder.as_path()), "{name}");
        assert!(!name.contains('/') && !name.contains(".."), "{name}");
    });
    drop(server);
}
