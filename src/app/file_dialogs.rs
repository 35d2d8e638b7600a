//! Every file dialog of the app (open, open several, save, pick a folder) goes through
//! [`StudioApp::ask_for_files`]: the native dialog (desktop portal, else zenity, through rfd)
//! when one can open, else the in-app browser (egui-file-dialog), with the reason in the
//! status line. Without this, a bare X session (no portal, no zenity) made "Open file…" do
//! nothing and "Save…" report a cancel the user never made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::artifacts::{write_frames_into, ArtifactItem};
use super::StudioApp;
use crate::backend::{reported, BackendEvent};
use crate::viewer::GlbSource;

/// A native dialog that answers "nothing chosen" sooner than this never showed: no person
/// cancels that fast. rfd returns `None` at once when the portal call fails and zenity is
/// missing, so this catches a session bus without a FileChooser portal.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(400);

/// What the dialog asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogKind {
    OpenFile,
    OpenFiles,
    SaveFile { name: String },
    PickFolder,
}

/// What the chosen paths are for.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogPurpose {
    /// The viewer's "Open file…".
    OpenModel,
    /// "Add product…": the files are uploaded.
    AddProduct,
    /// "Save…" of one artifact.
    SaveArtifact(ArtifactItem),
    /// "Save frames…": a turntable's frames into a folder.
    SaveFrames(Vec<ArtifactItem>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DialogRequest {
    pub title: &'static str,
    /// Named extension filters, the first one selected.
    pub filters: Vec<(&'static str, Vec<&'static str>)>,
    pub kind: DialogKind,
    pub purpose: DialogPurpose,
}

/// What a native dialog answered, and how fast.
#[derive(Debug)]
pub struct NativeAnswer {
    pub request: DialogRequest,
    pub paths: Option<Vec<PathBuf>>,
    pub elapsed: Duration,
}

/// Whether a native dialog can open, and if not, why (said in the status line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeDialogs {
    Available,
    Unavailable(String),
}

/// What decides whether rfd's Linux backend can show anything: a session bus (for the
/// desktop portal) or zenity (its fallback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogEnvironment {
    pub session_bus: bool,
    pub zenity: bool,
}

impl DialogEnvironment {
    /// Looks at this process's environment: `DBUS_SESSION_BUS_ADDRESS` or the bus socket
    /// under `XDG_RUNTIME_DIR`, and `zenity` on `PATH`.
    pub fn probe() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let session_bus = var("DBUS_SESSION_BUS_ADDRESS").is_some()
            || var("XDG_RUNTIME_DIR").is_some_and(|dir| Path::new(&dir).join("bus").exists());
        let zenity = var("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| is_executable(&dir.join("zenity")))
        });
        DialogEnvironment {
            session_bus,
            zenity,
        }
    }

    pub fn native_dialogs(self) -> NativeDialogs {
        if cfg!(not(all(unix, not(target_os = "macos")))) || self.session_bus || self.zenity {
            NativeDialogs::Available
        } else {
            NativeDialogs::Unavailable("no desktop portal (no session bus) and no zenity".into())
        }
    }
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The app's dialog state: whether native dialogs work, and the in-app browser while open.
pub struct FileDialogs {
    pub native: NativeDialogs,
    /// Where the in-app browser starts (its own default, the working directory, when `None`).
    pub start_dir: Option<PathBuf>,
    open: Option<(egui_file_dialog::FileDialog, DialogRequest)>,
}

impl Default for FileDialogs {
    fn default() -> Self {
        FileDialogs {
            native: DialogEnvironment::probe().native_dialogs(),
            start_dir: None,
            open: None,
        }
    }
}

impl FileDialogs {
    /// Whether the in-app browser is showing.
    pub fn in_app_open(&self) -> bool {
        self.open.is_some()
    }
}

fn in_app_dialog(request: &DialogRequest, start: Option<&Path>) -> egui_file_dialog::FileDialog {
    let mut dialog = egui_file_dialog::FileDialog::new()
        .title(request.title)
        .default_size([720.0, 440.0]);
    if let Some(dir) = start {
        dialog = dialog.initial_directory(dir.to_owned());
    }
    for (name, extensions) in &request.filters {
        dialog = dialog.add_file_filter_extensions(name, extensions.clone());
    }
    if let Some((first, _)) = request.filters.first() {
        dialog = dialog.default_file_filter(first);
    }
    match &request.kind {
        DialogKind::OpenFile => dialog.pick_file(),
        DialogKind::OpenFiles => dialog.pick_multiple(),
        DialogKind::PickFolder => dialog.pick_directory(),
        DialogKind::SaveFile { name } => {
            dialog = dialog.default_file_name(name);
            dialog.save_file();
        }
    }
    dialog
}

async fn native_dialog(request: DialogRequest) -> BackendEvent {
    let mut dialog = rfd::AsyncFileDialog::new().set_title(request.title);
    for (name, extensions) in &request.filters {
        dialog = dialog.add_filter(*name, extensions);
    }
    let started = Instant::now();
    let paths = match &request.kind {
        DialogKind::OpenFile => dialog.pick_file().await.map(|f| vec![f.path().to_owned()]),
        DialogKind::OpenFiles => dialog
            .pick_files()
            .await
            .map(|files| files.iter().map(|f| f.path().to_owned()).collect()),
        DialogKind::SaveFile { name } => dialog
            .set_file_name(name)
            .save_file()
            .await
            .map(|f| vec![f.path().to_owned()]),
        DialogKind::PickFolder => dialog
            .pick_folder()
            .await
            .map(|f| vec![f.path().to_owned()]),
    };
    BackendEvent::Dialog(NativeAnswer {
        request,
        paths,
        elapsed: started.elapsed(),
    })
}

impl StudioApp {
    /// The one place that decides native dialog or in-app browser.
    pub(crate) fn ask_for_files(&mut self, ctx: &egui::Context, request: DialogRequest) {
        match (&self.dialogs.native, &self.server.backend) {
            (NativeDialogs::Available, Some(backend)) => {
                backend.spawn(native_dialog(request));
            }
            (NativeDialogs::Unavailable(why), _) => {
                self.status = format!("No native file dialog ({why}): using the in-app browser");
                self.open_in_app(request);
            }
            // No runtime to wait on a native dialog (tests, local-only): the browser needs none.
            (NativeDialogs::Available, None) => self.open_in_app(request),
        }
        // The browser draws from the next frame on.
        ctx.request_repaint();
    }

    fn open_in_app(&mut self, request: DialogRequest) {
        let dialog = in_app_dialog(&request, self.dialogs.start_dir.as_deref());
        self.dialogs.open = Some((dialog, request));
    }

    pub(super) fn on_native_dialog(&mut self, ctx: &egui::Context, answer: NativeAnswer) {
        match answer.paths {
            Some(paths) if !paths.is_empty() => self.chosen(ctx, answer.request.purpose, paths),
            _ if answer.elapsed < NO_DIALOG_WITHIN => {
                // Nothing showed: remember for the session and ask in the app instead.
                self.dialogs.native = NativeDialogs::Unavailable(format!(
                    "the native dialog closed after {} ms without showing",
                    answer.elapsed.as_millis()
                ));
                self.ask_for_files(ctx, answer.request);
            }
            _ => self.status = format!("{} cancelled", answer.request.title),
        }
    }

    /// Draws the in-app browser while it is open and takes its answer.
    pub(super) fn file_dialog_ui(&mut self, ctx: &egui::Context) {
        let Some((dialog, _)) = self.dialogs.open.as_mut() else {
            return;
        };
        dialog.update(ctx);
        let paths = match dialog.state() {
            egui_file_dialog::DialogState::Open => return,
            egui_file_dialog::DialogState::Picked(path) => Some(vec![path.clone()]),
            egui_file_dialog::DialogState::PickedMultiple(paths) => Some(paths.clone()),
            egui_file_dialog::DialogState::Closed | egui_file_dialog::DialogState::Cancelled => {
                None
            }
        };
        let Some((_, request)) = self.dialogs.open.take() else {
            return;
        };
        match paths {
            Some(paths) if !paths.is_empty() => self.chosen(ctx, request.purpose, paths),
            _ => self.status = format!("{} cancelled", request.title),
        }
    }

    /// Acts on what the user chose, whichever dialog they chose it in.
    fn chosen(&mut self, ctx: &egui::Context, purpose: DialogPurpose, mut paths: Vec<PathBuf>) {
        let result = match purpose {
            DialogPurpose::AddProduct => self.upload_files(paths),
            DialogPurpose::OpenModel => {
                let path = paths.swap_remove(0);
                self.open_in_viewer(ctx, GlbSource::Path(path))
            }
            DialogPurpose::SaveArtifact(meta) => self.write_artifact(meta, paths.swap_remove(0)),
            DialogPurpose::SaveFrames(items) => self.write_frames(items, paths.swap_remove(0)),
        };
        if let Err(message) = result {
            self.status = message;
        }
    }

    fn write_artifact(&self, meta: ArtifactItem, path: PathBuf) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        self.spawn(async move {
            reported(
                "save artifact",
                c.artifact(&meta.id),
                move |(bytes, _)| match std::fs::write(&path, bytes) {
                    Ok(()) => BackendEvent::Notice(format!("Saved {}", path.display())),
                    Err(e) => BackendEvent::Failed {
                        task: "save artifact",
                        message: format!("{}: {e}", path.display()),
                    },
                },
            )
            .await
        });
        Ok(())
    }

    fn write_frames(&self, items: Vec<ArtifactItem>, dir: PathBuf) -> Result<(), String> {
        let c = self.server.client.clone().ok_or("Not connected")?;
        self.spawn(async move {
            match write_frames_into(&c, &dir, &items).await {
                Ok(written) => BackendEvent::Notice(format!(
                    "Saved {} frames to {}",
                    written.len(),
                    dir.display()
                )),
                Err(message) => BackendEvent::Failed {
                    task: "save frames",
                    message,
                },
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_dialogs_need_a_session_bus_or_zenity() {
        let env = |session_bus, zenity| DialogEnvironment {
            session_bus,
            zenity,
        };
        assert_eq!(env(true, false).native_dialogs(), NativeDialogs::Available);
        assert_eq!(env(false, true).native_dialogs(), NativeDialogs::Available);
        assert_eq!(env(true, true).native_dialogs(), NativeDialogs::Available);
        if cfg!(all(unix, not(target_os = "macos"))) {
            let NativeDialogs::Unavailable(why) = env(false, false).native_dialogs() else {
                panic!("a bare X session has no native dialog");
            };
            assert!(why.contains("portal") && why.contains("zenity"), "{why}");
        }
    }

    fn answer(elapsed_ms: u64) -> NativeAnswer {
        NativeAnswer {
            request: DialogRequest {
                title: "Open a glTF model",
                filters: vec![("glTF / GLB", vec!["glb", "gltf"])],
                kind: DialogKind::OpenFile,
                purpose: DialogPurpose::OpenModel,
            },
            paths: None,
            elapsed: Duration::from_millis(elapsed_ms),
        }
    }

    #[test]
    fn an_instant_empty_answer_means_no_dialog_showed_and_the_browser_opens() {
        let ctx = egui::Context::default();
        let mut app = StudioApp::connecting();
        app.dialogs.native = NativeDialogs::Available;
        app.on_native_dialog(&ctx, answer(3));
        assert!(app.dialogs.in_app_open());
        assert!(
            matches!(&app.dialogs.native, NativeDialogs::Unavailable(why) if why.contains("3 ms")),
            "{:?}",
            app.dialogs.native
        );
        assert!(app.status.contains("in-app browser"), "{}", app.status);
    }

    #[test]
    fn an_empty_answer_after_a_while_is_a_cancel() {
        let ctx = egui::Context::default();
        let mut app = StudioApp::connecting();
        app.dialogs.native = NativeDialogs::Available;
        app.on_native_dialog(&ctx, answer(2_500));
        assert!(!app.dialogs.in_app_open());
        assert_eq!(app.dialogs.native, NativeDialogs::Available);
        assert_eq!(app.status, "Open a glTF model cancelled");
    }

    #[test]
    fn zenity_is_found_only_as_an_executable_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let zenity = dir.path().join("zenity");
        assert!(!is_executable(&zenity), "missing");
        std::fs::write(&zenity, "#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert!(!is_executable(&zenity), "not executable");
            std::fs::set_permissions(&zenity, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        assert!(is_executable(&zenity));
        assert!(!is_executable(dir.path()), "a folder is not a program");
    }
}
