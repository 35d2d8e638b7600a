//! The one place viewer commands and background results change the viewer's state
//! (called from [`StudioApp::apply`] and the backend poll).

use workflow_engine::materials::NameRule;

use super::load::{self, ViewerEvent};
use super::preview::PreviewStatus;
use super::{GlbSource, MapConflict, SelectMode, ViewerCommand};
use crate::app::file_dialogs::{DialogKind, DialogPurpose, DialogRequest};
use crate::app::{MainView, StudioApp};
use crate::backend::BackendEvent;

impl StudioApp {
    fn viewer_spawn(&self, task: impl std::future::Future<Output = ViewerEvent> + Send + 'static) {
        if let Some(backend) = &self.server.backend {
            backend.spawn(async move { BackendEvent::Viewer(task.await) });
        }
    }

    /// Without a background runtime (tests, a failed start): `decode` with the default
    /// library on a plain thread, the outcome sent to the viewer's inbox as a load event.
    fn decode_on_thread(
        &self,
        ctx: &egui::Context,
        seq: u64,
        decode: impl FnOnce(
                workflow_engine::materials::MaterialLibrary,
            ) -> Result<super::model::LoadedDoc, String>
            + Send
            + 'static,
    ) {
        let tx = self.viewer.inbox_sender();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let entries = super::LibraryEntry::defaults();
            let decoded = decode(load::library_of(&entries)).map(|doc| (doc, entries));
            let _ = tx.send(load::loaded(seq, decoded));
            ctx.request_repaint();
        });
    }

    /// `Command::OpenGlbInViewer`: switches to the viewer and loads in the background.
    pub fn open_in_viewer(&mut self, ctx: &egui::Context, source: GlbSource) -> Result<(), String> {
        self.state.view = MainView::Viewer;
        let client = self.server.client.clone();
        let has_backend = self.server.backend.is_some();
        let needs_server = matches!(source, GlbSource::Product(_) | GlbSource::Artifact { .. });
        if needs_server && client.is_none() && has_backend {
            // Still connecting: open once the server answers.
            self.viewer.loading = Some("waiting for the server".into());
            self.viewer.pending_open = Some(source);
            return Ok(());
        }
        match source {
            GlbSource::Product(id) => {
                let c = client.ok_or("Not connected: products come from the server")?;
                let seq = self.viewer.begin_load(format!("product {id}"));
                self.viewer_spawn(load::open_product(c, id, seq));
            }
            GlbSource::Artifact { id, title } => {
                let c = client.ok_or("Not connected: artifacts come from the server")?;
                let seq = self.viewer.begin_load(title.clone());
                self.viewer_spawn(load::open_artifact(c, id, title, seq));
            }
            GlbSource::Bytes { name, bytes } => {
                let seq = self.viewer.begin_load(name.clone());
                if has_backend {
                    self.viewer_spawn(load::open_bytes(client, name, bytes, seq));
                } else {
                    // No runtime (tests, a failed start): decode on a plain thread.
                    self.decode_on_thread(ctx, seq, move |lib| {
                        super::model::load_glb(
                            &bytes,
                            super::DocSource::File { name },
                            lib,
                            Default::default(),
                            None,
                        )
                    });
                }
            }
            GlbSource::Path(path) => {
                let seq = self.viewer.begin_load(path.display().to_string());
                if has_backend {
                    self.viewer_spawn(load::open_path(client, path, seq));
                } else {
                    self.decode_on_thread(ctx, seq, move |lib| load::decode_path(path, lib));
                }
            }
            GlbSource::PickFile => self.ask_for_files(
                ctx,
                DialogRequest {
                    title: "Open a glTF model",
                    filters: vec![
                        ("glTF / GLB", vec!["glb", "gltf"]),
                        ("STEP", vec!["step", "stp"]),
                    ],
                    kind: DialogKind::OpenFile,
                    purpose: DialogPurpose::OpenModel,
                },
            ),
        }
        Ok(())
    }

    /// Refreshes the product list when the viewer tab opens.
    pub fn viewer_shown(&mut self) {
        if let Some(c) = self.server.client.clone() {
            self.viewer_spawn(load::products(c));
        }
    }

    /// Applies one viewer command.
    pub fn apply_viewer(&mut self, command: ViewerCommand) -> Result<(), String> {
        let client = self.server.client.clone();
        let v = &mut self.viewer;
        match command {
            ViewerCommand::RefreshProducts => {
                let c = client.ok_or("Not connected")?;
                self.viewer_spawn(load::products(c));
            }
            ViewerCommand::RefreshLibrary => {
                let c = client.ok_or("Not connected")?;
                self.viewer_spawn(load::refresh_library(c));
            }
            ViewerCommand::Select { parts, mode } => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                match mode {
                    SelectMode::Replace => doc.selection = parts.into_iter().collect(),
                    SelectMode::Toggle => {
                        for p in parts {
                            if !doc.selection.remove(&p) {
                                doc.selection.insert(p);
                            }
                        }
                    }
                }
            }
            ViewerCommand::ClearSelection => {
                if let Some(doc) = v.doc.as_mut() {
                    doc.selection.clear();
                }
            }
            ViewerCommand::StepMissing { forward } => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                let missing = doc.missing();
                if missing.is_empty() {
                    return Err("Every part has a material".into());
                }
                let n = missing.len();
                // Continue from the selected missing part, if one is selected.
                let current = doc
                    .selection
                    .iter()
                    .next()
                    .and_then(|s| missing.iter().position(|m| m == s));
                let next = match (current, forward) {
                    (Some(i), true) => (i + 1) % n,
                    (Some(i), false) => (i + n - 1) % n,
                    (None, true) => v.missing_cursor % n,
                    (None, false) => (v.missing_cursor + n - 1) % n,
                };
                v.missing_cursor = next;
                let part = missing[next];
                doc.selection = [part].into_iter().collect();
                v.tree.scroll_to_part = Some(part);
                let bounds = doc.bounds_of([part]);
                v.camera.fit(&bounds, v.aspect);
                v.notice = Some(format!(
                    "Missing {} of {n}: {}",
                    next + 1,
                    doc.part_key(part).unwrap_or("?")
                ));
            }
            ViewerCommand::AssignToSelection(material) => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                let keys: Vec<String> = doc
                    .selection
                    .iter()
                    .filter_map(|&p| doc.part_key(p).map(str::to_owned))
                    .collect();
                if keys.is_empty() {
                    return Err("Select parts first".into());
                }
                let n = keys.len();
                doc.edit_map(|m| {
                    for k in keys {
                        m.assignments.insert(k, material.clone());
                    }
                });
                v.notice = Some(format!("Assigned {material} to {n} part(s)"));
            }
            ViewerCommand::AssignToMeshInstances(material) => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                let keys: Vec<String> = doc
                    .mesh_siblings_of_selection()
                    .into_iter()
                    .filter_map(|p| doc.part_key(p).map(str::to_owned))
                    .collect();
                if keys.is_empty() {
                    return Err("Select parts first".into());
                }
                let n = keys.len();
                doc.edit_map(|m| {
                    for k in keys {
                        m.assignments.insert(k, material.clone());
                    }
                });
                v.notice = Some(format!(
                    "Assigned {material} to {n} instance(s) of the selected meshes"
                ));
            }
            ViewerCommand::ClearAssignments => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                let keys: Vec<String> = doc
                    .selection
                    .iter()
                    .filter_map(|&p| doc.part_key(p).map(str::to_owned))
                    .collect();
                doc.edit_map(|m| {
                    for k in &keys {
                        m.assignments.remove(k);
                    }
                });
            }
            ViewerCommand::AddRule {
                pattern,
                material,
                place,
            } => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                if pattern.trim().is_empty() {
                    return Err("A rule needs a pattern".into());
                }
                if doc.material(&material).is_none() {
                    return Err(format!("{material} is not in the library"));
                }
                let rule = NameRule { pattern, material };
                doc.edit_map(|m| match place {
                    super::RulePlace::First => m.rules.insert(0, rule),
                    super::RulePlace::Last => m.rules.push(rule),
                });
                v.rule.pattern.clear();
            }
            ViewerCommand::MoveRule { from, to } => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                let n = doc.map.rules.len();
                if from >= n || to >= n {
                    return Err("No such rule".into());
                }
                doc.edit_map(|m| {
                    let rule = m.rules.remove(from);
                    m.rules.insert(to, rule);
                });
            }
            ViewerCommand::DeleteRule(i) => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                if i >= doc.map.rules.len() {
                    return Err("No such rule".into());
                }
                doc.edit_map(|m| {
                    m.rules.remove(i);
                });
            }
            ViewerCommand::Undo => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                if !doc.undo() {
                    return Err("Nothing to undo".into());
                }
            }
            ViewerCommand::Redo => {
                let doc = v.doc.as_mut().ok_or("Nothing open")?;
                if !doc.redo() {
                    return Err("Nothing to redo".into());
                }
            }
            ViewerCommand::SetUseFileMaterials(on) => {
                if let Some(doc) = v.doc.as_mut() {
                    doc.set_use_file_materials(on);
                }
            }
            ViewerCommand::SaveMap | ViewerCommand::OverwriteMap => {
                let overwrite = command == ViewerCommand::OverwriteMap;
                let c = client.ok_or("Not connected")?;
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                let id = doc
                    .source
                    .product_id()
                    .ok_or("Only a product's map can be saved")?
                    .to_owned();
                let version = match (&v.conflict, overwrite) {
                    (Some(conflict), true) => conflict.version,
                    _ => doc.version.unwrap_or(0),
                };
                let map = doc.map.clone();
                v.conflict = None;
                v.saving = true;
                self.viewer_spawn(load::save_map(c, id, version, map));
            }
            ViewerCommand::ReloadMap => {
                let c = client.ok_or("Not connected")?;
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                let id = doc
                    .source
                    .product_id()
                    .ok_or("This model has no server map")?
                    .to_owned();
                v.conflict = None;
                self.viewer_spawn(load::reload_map(c, id));
            }
            ViewerCommand::DismissConflict => v.conflict = None,
            ViewerCommand::RenderPreview => {
                let c = client.ok_or("Not connected")?;
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                let id = doc
                    .source
                    .product_id()
                    .ok_or("Only products can be rendered by the server")?
                    .to_owned();
                if doc.is_dirty() {
                    v.preview.status = PreviewStatus::Saving;
                    v.preview.after_save = true;
                    return self.apply_viewer(ViewerCommand::SaveMap);
                }
                v.preview.status = PreviewStatus::Rendering {
                    map_version: doc.version,
                };
                let use_file = doc.use_file_materials;
                self.viewer_spawn(load::render_preview(c, id, use_file));
            }
            ViewerCommand::ClosePreview => {
                v.preview = Default::default();
            }
            ViewerCommand::SaveMaterial { material, create } => {
                let c = client.ok_or("Not connected")?;
                v.library.saving = true;
                v.library.message = None;
                self.viewer_spawn(load::save_material(c, material, create));
            }
            ViewerCommand::CameraPreset(preset) => {
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                v.camera.preset(preset, &doc.bounds(), v.aspect);
            }
            ViewerCommand::FitAll => {
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                v.camera.fit(&doc.bounds(), v.aspect);
            }
            ViewerCommand::FitSelection => {
                let doc = v.doc.as_ref().ok_or("Nothing open")?;
                let bounds = doc.bounds_of(doc.selection.iter().copied());
                if bounds.is_empty() {
                    return Err("Select parts first".into());
                }
                v.camera.fit(&bounds, v.aspect);
            }
            ViewerCommand::Close => {
                v.doc = None;
                v.preview = Default::default();
            }
        }
        Ok(())
    }

    /// A background result for the viewer.
    pub fn on_viewer_event(&mut self, event: ViewerEvent) {
        let v = &mut self.viewer;
        match event {
            ViewerEvent::Loaded { seq, doc, library } => {
                if v.is_current_load(seq) {
                    v.install(*doc, library);
                }
            }
            ViewerEvent::LoadFailed { seq, message } => {
                if v.is_current_load(seq) {
                    v.loading = None;
                    v.error = Some(format!("Could not open: {message}"));
                }
            }
            ViewerEvent::Products(Ok(list)) => v.products = list,
            ViewerEvent::Products(Err(e)) => v.error = Some(format!("Products: {e}")),
            ViewerEvent::Library(Ok(entries)) => {
                if let Some(doc) = v.doc.as_mut() {
                    doc.set_library(load::library_of(&entries));
                }
                v.library.entries = entries;
            }
            ViewerEvent::Library(Err(e)) => v.library.message = Some(e),
            ViewerEvent::MapSaved {
                product_id,
                map,
                version,
            } => {
                v.saving = false;
                let Some(doc) = v
                    .doc
                    .as_mut()
                    .filter(|d| d.source.product_id() == Some(product_id.as_str()))
                else {
                    return;
                };
                doc.mark_saved(map, version);
                let use_file = doc.use_file_materials;
                v.notice = Some(format!("Saved the material map (version {version})"));
                if std::mem::take(&mut v.preview.after_save) {
                    if let Some(c) = self.server.client.clone() {
                        v.preview.status = PreviewStatus::Rendering {
                            map_version: Some(version),
                        };
                        self.viewer_spawn(load::render_preview(c, product_id, use_file));
                    }
                }
            }
            ViewerEvent::MapConflict {
                version, message, ..
            } => {
                v.saving = false;
                v.conflict = Some(MapConflict { version, message });
                if v.preview.after_save {
                    v.preview.after_save = false;
                    v.preview.status = PreviewStatus::Failed(
                        "Not rendered: the map could not be saved (conflict)".into(),
                    );
                }
            }
            ViewerEvent::MapReloaded {
                product_id,
                map,
                version,
            } => {
                if let Some(doc) = v
                    .doc
                    .as_mut()
                    .filter(|d| d.source.product_id() == Some(product_id.as_str()))
                {
                    doc.replace_map(map, version);
                    v.notice = Some(format!(
                        "Reloaded the server's map (version {version}); Undo brings your edits back"
                    ));
                }
            }
            ViewerEvent::SaveFailed(message) => {
                v.saving = false;
                v.error = Some(format!("Could not save the map: {message}"));
                if v.preview.after_save {
                    v.preview.after_save = false;
                    v.preview.status = PreviewStatus::Failed(message);
                }
            }
            ViewerEvent::MaterialSaved(entry) => {
                v.library.saving = false;
                v.library.form = None;
                v.library.message = Some(format!("Saved material {}", entry.material.name));
                v.library.chosen = Some(entry.material.name.clone());
                v.library.upsert(entry);
                let lib = load::library_of(&v.library.entries);
                if let Some(doc) = v.doc.as_mut() {
                    doc.set_library(lib);
                }
            }
            ViewerEvent::MaterialRejected { message, forbidden } => {
                v.library.saving = false;
                if forbidden {
                    v.library.can_edit = false;
                    v.library.form = None;
                    v.library.message = Some(format!(
                        "Your token's role may not edit the library (material_specialist or author): {message}"
                    ));
                } else {
                    v.library.message = Some(message);
                }
            }
            ViewerEvent::Preview(super::load::PreviewEvent::Done { run_id, image }) => {
                let map_version = match &v.preview.status {
                    PreviewStatus::Rendering { map_version } => *map_version,
                    _ => None,
                };
                v.preview.status = PreviewStatus::Done {
                    run_id,
                    map_version,
                    image,
                    texture: None,
                };
            }
            ViewerEvent::Preview(super::load::PreviewEvent::Failed(message)) => {
                v.preview.status = PreviewStatus::Failed(message);
            }
        }
    }

    /// The viewer tab's frame: local results first, then the panels.
    pub fn viewer_frame_ui(&mut self, ui: &mut egui::Ui, out: &mut Vec<crate::command::Command>) {
        for event in self.viewer.poll_inbox() {
            self.on_viewer_event(event);
        }
        if self.viewer.library.chosen.is_none() {
            self.viewer.library.chosen = self
                .viewer
                .library
                .entries
                .first()
                .map(|e| e.material.name.clone());
        }
        let connected = self.server.client.is_some();
        if connected {
            if let Some(source) = self.viewer.pending_open.take() {
                out.push(crate::command::Command::OpenGlbInViewer(source));
            }
        }
        let map_refused = self
            .server
            .refusal(workflow_wire::Permission::EditMaterials);
        super::viewer_ui(ui, &mut self.viewer, connected, map_refused, out);
    }
}
