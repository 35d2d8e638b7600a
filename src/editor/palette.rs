//! The node palette: grouped by family, execution role and module, with fuzzy search. Items
//! are dragged onto the canvas or double-clicked to insert.

use super::document::Edit;
use super::style::port_dot_ui;
use super::Editor;
use crate::command::Command;
use crate::search::{rank, PortFilter};
use egui::{RichText, Ui};
use workflow_contracts::{ExecutionRole, Family, NodeDefinition, Registry};

#[derive(Default)]
pub struct PaletteState {
    pub query: String,
    /// Show nodes of other families, greyed, with the reason they cannot be used.
    pub show_other_families: bool,
    pub focus_search: bool,
}

/// Dragged from the palette, dropped on the canvas.
#[derive(Debug, Clone)]
pub struct PalettePayload {
    pub node_type: String,
}

/// Accessible name of the palette's search field.
pub const SEARCH_LABEL: &str = "Search nodes";

pub fn palette_ui(ui: &mut Ui, editor: &mut Editor, registry: &Registry, out: &mut Vec<Command>) {
    let family = editor.doc.graph.family;
    let label = ui.label(RichText::new(SEARCH_LABEL).small().weak());
    let search = ui
        .add(
            egui::TextEdit::singleline(&mut editor.palette.query)
                .hint_text("label, type, port type… (Ctrl+F)")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    if std::mem::take(&mut editor.palette.focus_search) {
        search.request_focus();
    }
    if search.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        out.push(Command::InsertTopHit);
    }
    ui.checkbox(
        &mut editor.palette.show_other_families,
        "Show other families",
    );
    ui.separator();
    let center = editor.canvas.center;
    let mut item = |ui: &mut Ui, def: &NodeDefinition| {
        let allowed = family.is_none_or(|f| def.allows(f));
        if let Some(node_type) = palette_item_ui(ui, def, allowed, family) {
            out.push(Command::edit(Edit::AddNode {
                node_type,
                position: [center.x, center.y],
                wire_from: None,
                wire_to: None,
            }));
        }
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        if !editor.palette.query.trim().is_empty() {
            let scope = if editor.palette.show_other_families {
                None
            } else {
                family
            };
            let hits = rank(registry, &editor.palette.query, scope, PortFilter::Any);
            if hits.is_empty() {
                ui.weak("No node matches.");
            }
            for def in hits {
                item(ui, def);
            }
            return;
        }
        let families: Vec<Family> = match family {
            Some(f) if !editor.palette.show_other_families => vec![f],
            Some(f) => std::iter::once(f)
                .chain(registry.families.iter().copied().filter(|g| *g != f))
                .collect(),
            None => registry.families.clone(),
        };
        for f in families {
            egui::CollapsingHeader::new(RichText::new(f.as_str()).strong())
                .id_salt(("palette_family", f))
                .default_open(true)
                .show(ui, |ui| {
                    for role in ExecutionRole::ALL {
                        let defs: Vec<&NodeDefinition> = registry
                            .for_family(f)
                            .filter(|d| d.execution_role == role)
                            .collect();
                        if defs.is_empty() {
                            continue;
                        }
                        ui.label(RichText::new(role.as_str()).small().weak());
                        let mut modules: Vec<&str> =
                            defs.iter().map(|d| d.module_key.as_str()).collect();
                        modules.dedup();
                        for module in modules {
                            let group: Vec<&&NodeDefinition> =
                                defs.iter().filter(|d| d.module_key == module).collect();
                            if group.len() > 1 {
                                ui.label(RichText::new(format!("module {module}")).small().weak());
                            }
                            for def in group {
                                item(ui, def);
                            }
                        }
                    }
                });
        }
    });
}

/// One palette entry; returns the node type when it was double-clicked.
fn palette_item_ui(
    ui: &mut Ui,
    def: &NodeDefinition,
    allowed: bool,
    family: Option<Family>,
) -> Option<String> {
    let id = egui::Id::new(("palette_item", &def.node_type));
    let mut inserted = None;
    if !allowed {
        let reason = format!(
            "{} belongs to {}; this workflow is {}",
            def.node_type,
            def.families_text(),
            family.map_or("undeclared".to_owned(), |f| f.to_string())
        );
        ui.add_enabled(false, egui::Button::new(&def.label).frame(false))
            .on_disabled_hover_text(reason);
        return None;
    }
    let payload = PalettePayload {
        node_type: def.node_type.clone(),
    };
    ui.dnd_drag_source(id, payload, |ui| {
        ui.horizontal(|ui| {
            for port in def.output_contract.iter().take(3) {
                port_dot_ui(ui, port.port_type);
            }
            let response = ui
                .add(
                    egui::Button::new(&def.label)
                        .frame(false)
                        .sense(egui::Sense::click()),
                )
                .on_hover_text(item_tooltip(def));
            if response.double_clicked() {
                inserted = Some(def.node_type.clone());
            }
        });
    });
    inserted
}

fn item_tooltip(def: &NodeDefinition) -> String {
    let ports = |ports: &[workflow_contracts::PortSpec]| {
        ports
            .iter()
            .map(|p| format!("{}: {}", p.name, p.port_type))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{}\n{}\nmodule {} · {}\ninputs: {}\noutputs: {}",
        def.node_type,
        def.description,
        def.module_key,
        def.execution_role,
        ports(&def.input_contract),
        ports(&def.output_contract)
    )
}

/// Search field plus ranked list, used by the canvas's insert menus. Returns the chosen type.
pub fn insert_menu_ui(
    ui: &mut Ui,
    registry: &Registry,
    family: Option<Family>,
    filter: PortFilter,
) -> Option<String> {
    let query_id = egui::Id::new("insert_menu_query");
    let mut query: String = ui.data(|d| d.get_temp(query_id)).unwrap_or_default();
    let edit = ui.add(egui::TextEdit::singleline(&mut query).hint_text("Search…"));
    if !edit.has_focus() && query.is_empty() {
        edit.request_focus();
    }
    let hits = rank(registry, &query, family, filter);
    let mut chosen = None;
    if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        chosen = hits.first().map(|d| d.node_type.clone());
    }
    for def in hits.iter().take(12) {
        if ui
            .button(&def.label)
            .on_hover_text(item_tooltip(def))
            .clicked()
        {
            chosen = Some(def.node_type.clone());
        }
    }
    if hits.is_empty() {
        ui.weak("No compatible node.");
    }
    if chosen.is_some() {
        query.clear();
    }
    ui.data_mut(|d| d.insert_temp(query_id, query));
    chosen
}
