//! Commands that change the open document: the one place edits, selection and history meet.

use super::{StudioApp, REFUSAL_SECONDS};
use crate::command::Command;
use crate::editor::document::{AlignEdge, Edit};
use crate::editor::Editor;
use crate::search::{rank, PortFilter};
use workflow_contracts::layout::COLUMN_WIDTH;
use workflow_contracts::Registry;

impl StudioApp {
    pub(super) fn apply_to_editor(
        &mut self,
        ctx: &egui::Context,
        command: Command,
        registry: &Registry,
    ) {
        let Some(editor) = self.editor.as_mut() else {
            return;
        };
        let now = ctx.input(|i| i.time);
        let edit = |editor: &mut Editor, edit: Edit, coalesce: Option<String>| {
            if let Err(err) = editor.apply_edit(&edit, coalesce, registry) {
                editor.canvas.refusal = Some((err.to_string(), now + REFUSAL_SECONDS));
                return Err(err.to_string());
            }
            Ok(())
        };
        let result = match command.clone() {
            Command::Edit { edit: e, coalesce } => edit(editor, e, coalesce),
            Command::SealHistory => {
                editor.history.seal();
                Ok(())
            }
            Command::Select(ids) => {
                editor.selection = ids;
                Ok(())
            }
            Command::SelectAll => {
                editor.selection = editor
                    .doc
                    .graph
                    .nodes
                    .iter()
                    .map(|n| n.id.clone())
                    .collect();
                Ok(())
            }
            Command::DeleteSelection if !editor.selection.is_empty() => {
                let ids = std::mem::take(&mut editor.selection);
                edit(editor, Edit::RemoveNodes(ids), None)
            }
            Command::DuplicateSelection if !editor.selection.is_empty() => {
                let clip = editor.doc.clip(&editor.selection);
                edit(
                    editor,
                    Edit::Paste {
                        clip,
                        offset: [40.0, 40.0],
                    },
                    None,
                )
            }
            Command::Copy if !editor.selection.is_empty() => {
                let clip = editor.doc.clip(&editor.selection);
                // Also as JSON text, so a graph fragment can go to another app or a bug report.
                if let Ok(json) = serde_json::to_string_pretty(&clip) {
                    ctx.copy_text(json);
                }
                self.clipboard = Some(clip);
                Ok(())
            }
            Command::Paste => match self.clipboard.clone() {
                Some(clip) => {
                    let at = editor.canvas.pointer.unwrap_or(editor.canvas.center);
                    let min = clip
                        .nodes
                        .iter()
                        .filter_map(|n| n.position)
                        .fold([f32::INFINITY; 2], |a, p| [a[0].min(p[0]), a[1].min(p[1])]);
                    let offset = if min[0].is_finite() {
                        [at.x - min[0], at.y - min[1]]
                    } else {
                        [at.x, at.y]
                    };
                    edit(editor, Edit::Paste { clip, offset }, None)
                }
                None => Err("The clipboard holds no nodes; copy some first".to_owned()),
            },
            Command::Undo => {
                if editor.undo() {
                    Ok(())
                } else {
                    Err("Nothing to undo".to_owned())
                }
            }
            Command::Redo => {
                if editor.redo() {
                    Ok(())
                } else {
                    Err("Nothing to redo".to_owned())
                }
            }
            Command::AutoLayout => {
                let only = (editor.selection.len() > 1).then(|| editor.selection.clone());
                let whole = only.is_none();
                let result = edit(editor, Edit::AutoLayout(only), None);
                editor.canvas.zoom_to_fit = whole;
                result
            }
            Command::GroupSelection if !editor.selection.is_empty() => {
                let nodes = editor.selection.clone();
                edit(
                    editor,
                    Edit::Group {
                        title: "Comment".into(),
                        nodes,
                    },
                    None,
                )
            }
            Command::AlignLeft | Command::AlignTop if editor.selection.len() > 1 => {
                let edge = if command == Command::AlignLeft {
                    AlignEdge::Left
                } else {
                    AlignEdge::Top
                };
                let nodes = editor.selection.clone();
                edit(editor, Edit::Align { nodes, edge }, None)
            }
            Command::DistributeHorizontally | Command::DistributeVertically
                if editor.selection.len() > 2 =>
            {
                let horizontal = command == Command::DistributeHorizontally;
                let nodes = editor.selection.clone();
                edit(editor, Edit::Distribute { nodes, horizontal }, None)
            }
            Command::GroupSelection
            | Command::AlignLeft
            | Command::AlignTop
            | Command::DistributeHorizontally
            | Command::DistributeVertically => Err("Select the nodes to arrange first".to_owned()),
            Command::ZoomToFit => {
                editor.canvas.zoom_to_fit = true;
                Ok(())
            }
            Command::FocusSearch => {
                editor.palette.focus_search = true;
                Ok(())
            }
            Command::InsertTopHit => {
                insert_top_hit(editor, registry).and_then(|e| edit(editor, e, None))
            }
            _ => Ok(()),
        };
        self.status = match result {
            Ok(()) => String::new(),
            Err(message) => message,
        };
    }
}

/// The best palette match for the search text, placed right of the selected node and wired
/// to it when one of its outputs fits, otherwise at the cursor.
fn insert_top_hit(editor: &Editor, registry: &Registry) -> Result<Edit, String> {
    let query = editor.palette.query.trim();
    let family = editor.doc.graph.family;
    let selected = match editor.selection.as_slice() {
        [one] => editor.doc.node(one),
        _ => None,
    };
    if let Some(node) = selected {
        let outputs = registry
            .get(&node.node_type)
            .map(|d| d.output_contract.clone())
            .unwrap_or_default();
        for port in outputs {
            if let Some(def) =
                rank(registry, query, family, PortFilter::Accepts(port.port_type)).first()
            {
                let [x, y] = node.position.unwrap_or([0.0, 0.0]);
                return Ok(Edit::AddNode {
                    node_type: def.node_type.clone(),
                    position: [x + COLUMN_WIDTH, y],
                    wire_from: Some((node.id.clone(), port.name.clone())),
                    wire_to: None,
                });
            }
        }
    }
    let def = rank(registry, query, family, PortFilter::Any)
        .into_iter()
        .next()
        .ok_or_else(|| format!("No node matches \"{query}\""))?;
    let at = editor.canvas.pointer.unwrap_or(editor.canvas.center);
    Ok(Edit::AddNode {
        node_type: def.node_type.clone(),
        position: [at.x, at.y],
        wire_from: None,
        wire_to: None,
    })
}
