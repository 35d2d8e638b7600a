//! The node canvas (egui-snarl). The snarl is a view rebuilt from the document whenever the
//! document changes; user gestures on it become commands, never direct mutations.

use super::document::{Edit, WorkflowDocument};
use super::palette::{insert_menu_ui, PalettePayload};
use super::style::{port_color, ERROR, SELECTED, WARNING};
use super::Editor;
use crate::command::Command;
use crate::search::PortFilter;
use egui::emath::TSTransform;
use egui::{pos2, Color32, Pos2, Rect, RichText, Stroke, Ui};
use egui_snarl::ui::{AnyPins, PinInfo, SnarlStyle, SnarlViewer, SnarlWidget};
use egui_snarl::{InPin, InPinId, NodeId, OutPin, OutPinId, Snarl};
use std::collections::{HashMap, HashSet};
use workflow_contracts::{
    Edge, ErrorCode, NodeDefinition, PortType, Registry, Severity, ValidationError,
};

/// Runtime state of the canvas: the snarl view and what it last reported.
#[derive(Default)]
pub struct CanvasView {
    snarl: Snarl<String>,
    synced: Option<u64>,
    /// Graph index of each snarl node (snarl ids are dense, in graph order).
    snarl_index: Vec<usize>,
    /// With culling: the graph-space region whose nodes the snarl holds.
    built_region: Option<Rect>,
    /// Node id → graph index, rebuilt when the document changes (not on every re-cull): the
    /// viewer looks definitions up for every pin of every node each frame, which must not
    /// scan the graph.
    index: HashMap<String, usize>,
    /// Each edge's (from, to) graph indices (`None` when an end names no node).
    pub(super) edge_ends: Vec<Option<(usize, usize)>>,
    /// The document revision `index` and `edge_ends` were built for.
    indexed: Option<u64>,
    /// With culling: edges with exactly one end held by the snarl, as (from, to) graph
    /// indices and the wire colour; found when the snarl is rebuilt, not every frame.
    stubs: Vec<(usize, usize, Color32)>,
    /// Bumped whenever `node_rects` is replaced, so views that cache geometry know.
    pub(super) rects_generation: u64,
    /// Geometry of the overview, kept while the document and node sizes stay the same.
    pub(super) overview: super::overview::OverviewCache,
    last_snarl_selection: Vec<NodeId>,
    /// Set by the ZoomToFit command; consumed by the next frame.
    pub zoom_to_fit: bool,
    /// Node rectangles in graph space, from the last frame.
    pub(super) node_rects: HashMap<String, Rect>,
    /// Graph space → screen; shared by the snarl view and the overview.
    pub(super) to_global: TSTransform,
    /// A transform the snarl view must adopt on its next frame.
    pub(super) set_transform: Option<TSTransform>,
    /// Where the pointer was on the canvas, in graph space (for inserting at the cursor).
    pub pointer: Option<Pos2>,
    /// The canvas's centre in graph space.
    pub center: Pos2,
    /// Why the last gesture was refused, and until when to show it.
    pub refusal: Option<(String, f64)>,
    /// Set when a workflow opens: the next frame shows it at 100 %, framed on its start.
    pub frame_start: bool,
    /// A middle-drag or space-drag pan is in progress.
    panning: bool,
    /// The add-node search opened by Tab / Shift+A: where (graph space) the node goes.
    add_menu: Option<Pos2>,
}

impl CanvasView {
    /// Rebuilds `index` and `edge_ends` when the document changed (the overview uses them
    /// too, and it draws without syncing the snarl).
    pub(super) fn reindex(&mut self, doc: &WorkflowDocument) {
        if self.indexed == Some(doc.revision) {
            return;
        }
        self.index = doc
            .graph
            .nodes
            .iter()
            .enumerate()
            .rev() // The first of duplicate ids wins, as in validation.
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        let index = &self.index;
        self.edge_ends = doc
            .graph
            .edges
            .iter()
            .map(|e| {
                Some((
                    *index.get(e.from.node.as_str())?,
                    *index.get(e.to.node.as_str())?,
                ))
            })
            .collect();
        self.indexed = Some(doc.revision);
    }

    /// Rebuilds the snarl when the document changed or, for large graphs, when the view left
    /// the region the snarl holds. egui-snarl lays out every node it holds each frame (and
    /// scans all wires per pin), so large graphs hold only the nodes around the view.
    fn sync(&mut self, doc: &WorkflowDocument, registry: &Registry, view: Rect, dragging: bool) {
        let cull = doc.graph.nodes.len() > CULL_ABOVE;
        // Rebuild when the view left the held region, or zoomed in so far that most of what
        // the snarl holds is off screen.
        let stale_region = cull
            && !dragging
            && self
                .built_region
                .is_none_or(|r| !r.contains_rect(view) || r.area() > 16.0 * view.area());
        if self.synced == Some(doc.revision) && !stale_region {
            return;
        }
        let region = cull.then(|| view.expand2(view.size() * 0.75));
        self.reindex(doc);
        // Sizes the editor measured, by graph index (the others get a default size).
        let mut measured: Vec<Option<Rect>> = Vec::new();
        if region.is_some() {
            measured = vec![None; doc.graph.nodes.len()];
            for (id, rect) in &self.node_rects {
                if let Some(&i) = self.index.get(id) {
                    measured[i] = Some(*rect);
                }
            }
        }
        let mut snarl = Snarl::new();
        // Graph index → snarl node and definition, for the nodes the snarl holds.
        let mut held: Vec<Option<(NodeId, Option<&NodeDefinition>)>> =
            vec![None; doc.graph.nodes.len()];
        self.snarl_index.clear();
        for (i, node) in doc.graph.nodes.iter().enumerate() {
            if let Some(region) = region {
                let rect = measured[i].unwrap_or_else(|| placed_rect(node));
                if !region.intersects(rect) {
                    continue;
                }
            }
            let [x, y] = node.position.unwrap_or([0.0, 0.0]);
            let id = snarl.insert_node(pos2(x, y), node.id.clone());
            self.snarl_index.push(i);
            held[i] = Some((id, registry.get(&node.node_type)));
        }
        self.stubs.clear();
        for (edge, ends) in doc.graph.edges.iter().zip(&self.edge_ends) {
            let Some((a, b)) = *ends else {
                continue;
            };
            match (held[a], held[b]) {
                (Some((sa, Some(da))), Some((sb, Some(db)))) => {
                    let out = da
                        .output_contract
                        .iter()
                        .position(|p| p.name == edge.from.port);
                    let inp = db
                        .input_contract
                        .iter()
                        .position(|p| p.name == edge.to.port);
                    if let (Some(output), Some(input)) = (out, inp) {
                        snarl.connect(OutPinId { node: sa, output }, InPinId { node: sb, input });
                    }
                }
                (Some(_), Some(_)) | (None, None) => {}
                // One end culled: drawn as a plain line in the port's colour.
                _ => {
                    let color = registry
                        .get(&doc.graph.nodes[a].node_type)
                        .and_then(|d| d.output(&edge.from.port))
                        .map_or(Color32::GRAY, |p| port_color(p.port_type));
                    self.stubs.push((a, b, color));
                }
            }
        }
        self.snarl = snarl;
        self.built_region = region;
        self.synced = Some(doc.revision);
    }

    /// Whether the canvas shows the zoomed-out overview rather than the node editor.
    pub fn in_overview(&self) -> bool {
        self.to_global.scaling < OVERVIEW_BELOW
    }

    /// Shows the graph through `t` (graph space → screen) from the next frame on.
    pub fn set_view(&mut self, t: TSTransform) {
        self.to_global = t;
        self.set_transform = Some(t);
    }

    /// Node rectangles in graph space (known after the first frame that drew them).
    pub fn node_rect(&self, id: &str) -> Option<Rect> {
        self.node_rects.get(id).copied()
    }

    /// How many nodes the node editor holds (with culling, those around the view).
    pub fn held_nodes(&self) -> usize {
        self.snarl.nodes().count()
    }

    /// How many wires lead from a held node to a culled one (drawn as plain lines).
    pub fn culled_wires(&self) -> usize {
        self.stubs.len()
    }

    /// Graph space → screen, as last drawn.
    pub fn transform(&self) -> TSTransform {
        self.to_global
    }

    /// Whether the add-node search (Tab / Shift+A) is open, and where its node would go.
    pub fn add_menu(&self) -> Option<Pos2> {
        self.add_menu
    }

    /// Tab or Shift+A with the pointer on the canvas opens the add-node search there, as in
    /// Blender, Houdini and ComfyUI. Runs before any widget: egui would otherwise hand Tab's
    /// keyboard focus to the first text field.
    pub fn add_node_shortcut(&mut self, ctx: &egui::Context) -> bool {
        let Some(at) = self.pointer else {
            return false;
        };
        let pressed = ctx.input_mut(|i| {
            i.consume_key(egui::Modifiers::NONE, egui::Key::Tab)
                | i.consume_key(egui::Modifiers::SHIFT, egui::Key::A)
        });
        if pressed {
            ctx.memory_mut(|m| m.move_focus(egui::FocusDirection::None));
            self.add_menu = Some(at);
        }
        pressed
    }
}

/// Zoom per wheel notch: node editors step about 10 % (egui-snarl's Ctrl+wheel stepped ~1.5×).
pub const WHEEL_STEP: f32 = 1.1;

/// Points of smooth (touchpad, high-resolution wheel) scrolling that count as one notch.
const POINTS_PER_NOTCH: f32 = 50.0;

/// Closest zoom; a new workflow opens at 1.0 (100 % node scale, body text 12.5 px).
pub const MAX_SCALE: f32 = 2.0;

/// Diameter of a port's pin.
pub const PIN_SIZE: f32 = 10.0;

/// Room between an output pin and its label.
const PIN_GAP: f32 = 4.0;

/// A node frame's inner margin (pins sit inside it).
pub const NODE_MARGIN: f32 = 6.0;

/// Margin left of the graph's start when a workflow opens.
const START_MARGIN: f32 = 48.0;

/// `t` scaled to `scale` around the screen point `at` (which stays over the same graph point).
fn zoom_around(t: TSTransform, at: Pos2, scale: f32) -> TSTransform {
    let anchor = t.inverse() * at;
    TSTransform::new(at.to_vec2() - anchor.to_vec2() * scale, scale)
}

/// The layer of the overlay that keeps space-drag from moving nodes.
fn pan_overlay_layer() -> egui::LayerId {
    egui::LayerId::new(egui::Order::Foreground, egui::Id::new("canvas_pan_overlay"))
}

/// Node-editor navigation, taken before egui-snarl's scene sees the input (its wheel pans and
/// its Ctrl+wheel zooms ~1.5× a notch): the wheel zooms ~10 % a notch around the pointer,
/// Shift+wheel pans sideways, middle-drag and space-drag pan anywhere (also over nodes).
/// Pinch zoom and dragging the empty background stay with the scene. The result is imposed
/// through `set_transform`, which the viewer applies after the scene's own handling.
fn navigate(ui: &Ui, canvas: &mut CanvasView, viewport: Rect) {
    let ctx = ui.ctx().clone();
    let (pointer, events, delta, middle, primary, space) = ui.input(|i| {
        (
            i.pointer.latest_pos(),
            i.events.clone(),
            i.pointer.delta(),
            i.pointer.middle_down(),
            i.pointer.primary_down(),
            i.key_down(egui::Key::Space),
        )
    });
    let over = pointer.filter(|p| {
        viewport.contains(*p)
            && ctx
                .layer_id_at(*p)
                .is_none_or(|l| l.order == egui::Order::Background || l == pan_overlay_layer())
    });
    let keys_free = !ctx.egui_wants_keyboard_input();
    let mut t = canvas.set_transform.unwrap_or(canvas.to_global);
    let mut changed = false;
    if let Some(p) = over {
        let (mut notches, mut sideways) = (0.0, 0.0);
        for e in &events {
            if let egui::Event::MouseWheel {
                unit,
                delta,
                modifiers,
                ..
            } = e
            {
                let d = match unit {
                    egui::MouseWheelUnit::Point => *delta / POINTS_PER_NOTCH,
                    egui::MouseWheelUnit::Line => *delta,
                    egui::MouseWheelUnit::Page => *delta * 3.0,
                };
                if modifiers.shift {
                    sideways += d.x + d.y;
                } else {
                    notches += d.y;
                }
            }
        }
        if notches != 0.0 {
            let scale = (t.scaling * WHEEL_STEP.powf(notches)).clamp(0.01, MAX_SCALE);
            t = zoom_around(t, p, scale);
            changed = true;
        }
        if sideways != 0.0 {
            t.translation.x += sideways * POINTS_PER_NOTCH;
            changed = true;
        }
        // egui spreads a wheel notch over the next frames (as a scroll, or with Ctrl as a
        // zoom factor): the scene must not apply those on top of the step taken here.
        let pinch = events.iter().any(|e| matches!(e, egui::Event::Zoom(_)));
        if !pinch && ui.input(|i| i.zoom_delta()) != 1.0 {
            changed = true;
        }
        ctx.input_mut(|i| i.smooth_scroll_delta = egui::Vec2::ZERO);
        let pressed = |button| {
            events.iter().any(|e| {
                matches!(e, egui::Event::PointerButton { button: b, pressed: true, .. } if *b == button)
            })
        };
        if pressed(egui::PointerButton::Middle)
            || (space && keys_free && pressed(egui::PointerButton::Primary))
        {
            canvas.panning = true;
        }
    }
    if !middle && !primary {
        canvas.panning = false;
    }
    if canvas.panning {
        t.translation += delta;
        changed = true;
        ctx.set_cursor_icon(egui::CursorIcon::Grabbing);
    }
    // While space is held, an overlay takes the primary drag so it pans instead of moving the
    // node under the pointer.
    if canvas.panning || (space && keys_free && over.is_some()) {
        if !canvas.panning {
            ctx.set_cursor_icon(egui::CursorIcon::Grab);
        }
        egui::Area::new(pan_overlay_layer().id)
            .order(egui::Order::Foreground)
            .fixed_pos(viewport.min)
            .show(&ctx, |ui| {
                ui.allocate_exact_size(viewport.size(), egui::Sense::click_and_drag());
            });
    }
    if changed {
        canvas.set_view(t);
        ctx.request_repaint();
    }
}

/// The view a workflow opens in: 100 % node scale, the graph's start (its leftmost nodes) at
/// the left of the canvas, the first column of nodes centred vertically.
fn start_view(editor: &Editor, viewport: Rect) -> Option<TSTransform> {
    let rects: Vec<Rect> = editor
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| {
            editor.canvas.node_rect(&n.id).unwrap_or_else(|| {
                let [x, y] = n.position.unwrap_or([0.0, 0.0]);
                Rect::from_min_size(pos2(x, y), egui::vec2(180.0, 100.0))
            })
        })
        .collect();
    let left = rects.iter().map(|r| r.left()).reduce(f32::min)?;
    // What fits in the first screenful, measured from the start.
    let first = rects
        .iter()
        .filter(|r| r.left() < left + viewport.width() - START_MARGIN)
        .copied()
        .reduce(|a, b| a.union(b))?;
    let y = if first.height() + 2.0 * START_MARGIN <= viewport.height() {
        viewport.center().y - first.center().y
    } else {
        viewport.top() + START_MARGIN - first.top()
    };
    Some(TSTransform::new(
        egui::vec2(viewport.left() + START_MARGIN - left, y),
        1.0,
    ))
}

/// The add-node search opened by Tab / Shift+A, at the pointer where it was opened; Escape
/// or a click elsewhere closes it.
fn add_menu_ui(ui: &Ui, editor: &mut Editor, registry: &Registry, out: &mut Vec<Command>) {
    let Some(at) = editor.canvas.add_menu else {
        return;
    };
    let screen = editor.canvas.to_global * at;
    let family = editor.doc.graph.family;
    let response = egui::Area::new(egui::Id::new("canvas_add_node"))
        .order(egui::Order::Foreground)
        .fixed_pos(screen)
        .constrain(true)
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(260.0);
                ui.label(RichText::new("Add node").strong());
                insert_menu_ui(ui, registry, family, PortFilter::Any)
            })
        });
    let chosen = response.inner.inner;
    if let Some(node_type) = chosen {
        out.push(Command::edit(Edit::AddNode {
            node_type,
            position: [at.x, at.y],
            wire_from: None,
            wire_to: None,
        }));
        editor.canvas.add_menu = None;
    } else if ui.input(|i| i.key_pressed(egui::Key::Escape))
        || response.response.clicked_elsewhere()
    {
        editor.canvas.add_menu = None;
    }
}

/// Below this zoom the canvas shows the overview instead of the node editor.
pub const OVERVIEW_BELOW: f32 = 0.3;

/// Graphs with more nodes than this hold only the nodes around the view in the editor.
const CULL_ABOVE: usize = 150;

/// Draws the canvas and turns what the user did on it into commands.
pub fn canvas_ui(ui: &mut Ui, editor: &mut Editor, registry: &Registry, out: &mut Vec<Command>) {
    let viewport = ui.max_rect();
    if std::mem::take(&mut editor.canvas.frame_start) {
        if editor.doc.graph.nodes.len() > CULL_ABOVE {
            // A large graph at 100 % shows a sliver of itself: it opens whole (the overview).
            editor.canvas.zoom_to_fit = true;
        } else if let Some(start) = start_view(editor, viewport) {
            editor.canvas.set_view(start);
        }
    }
    if std::mem::take(&mut editor.canvas.zoom_to_fit) {
        if let Some(graph) = fit_rect(editor) {
            let graph = graph.expand(40.0);
            let scale = (viewport.width() / graph.width())
                .min(viewport.height() / graph.height())
                .clamp(0.02, 1.25);
            let fit = TSTransform::new(
                viewport.center().to_vec2() - graph.center().to_vec2() * scale,
                scale,
            );
            editor.canvas.to_global = fit;
            editor.canvas.set_transform = Some(fit);
        }
    }
    navigate(ui, &mut editor.canvas, viewport);
    add_menu_ui(ui, editor, registry, out);
    // Far out, labels are unreadable and egui-snarl's per-pin work grows with the graph: an
    // overview painter takes over until the author zooms back in.
    if editor.canvas.to_global.scaling < OVERVIEW_BELOW {
        super::overview::overview_ui(ui, editor, registry, out);
        return;
    }
    let dragging = ui.input(|i| i.pointer.any_down());
    let view = editor.canvas.to_global.inverse().mul_rect(viewport);
    editor.canvas.sync(&editor.doc, registry, view, dragging);
    let stubs = culled_wires(editor);
    let Editor { doc, canvas, .. } = editor;
    let previous_rects = std::mem::take(&mut canvas.node_rects);
    let mut problems: HashMap<&str, Vec<&ValidationError>> = HashMap::new();
    for e in &editor.report.errors {
        for n in &e.nodes {
            problems.entry(n.as_str()).or_default().push(e);
        }
    }
    let selection: HashSet<&str> = editor.selection.iter().map(String::as_str).collect();
    let mut viewer = Viewer {
        doc,
        index: &canvas.index,
        previous_rects: &previous_rects,
        problems: &problems,
        selection: &selection,
        selection_order: &editor.selection,
        registry,
        out,
        node_rects: HashMap::new(),
        to_global: canvas.to_global,
        set_transform: canvas.set_transform.take(),
        stubs: &stubs,
        run_status: &editor.run_status,
    };
    let mut style = SnarlStyle::new();
    style.collapsible = Some(false);
    // Zooming out past the editor's range hands over to the overview.
    style.min_scale = Some(OVERVIEW_BELOW * 0.9);
    style.max_scale = Some(MAX_SCALE);
    style.pin_size = Some(PIN_SIZE);
    // Window frames carry a soft shadow whose tessellation dominated frames of large graphs;
    // nodes read as well with a plain outline.
    let visuals = &ui.style().visuals;
    style.node_frame = Some(
        egui::Frame::new()
            .fill(visuals.window_fill)
            .stroke(visuals.window_stroke)
            .corner_radius(4.0)
            .inner_margin(NODE_MARGIN),
    );
    let widget = SnarlWidget::new().id_salt("workflow_canvas").style(style);
    let response = widget.show(&mut canvas.snarl, &mut viewer, ui);
    canvas.to_global = viewer.to_global;
    canvas.node_rects = viewer.node_rects;
    canvas.rects_generation += 1;
    let from_global = canvas.to_global.inverse();
    canvas.center = from_global * viewport.center();
    // hover_pos() is None over nodes (child widgets); the canvas still contains the pointer.
    canvas.pointer = response
        .contains_pointer()
        .then(|| ui.input(|i| i.pointer.hover_pos()))
        .flatten()
        .map(|p| from_global * p);

    // Typing while the pointer is on the canvas searches the palette.
    if response.contains_pointer() && !ui.ctx().egui_wants_keyboard_input() {
        let typed: String = ui.input(|i| {
            i.events
                .iter()
                .filter_map(|e| match e {
                    egui::Event::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        });
        if !typed.trim().is_empty() && !ui.input(|i| i.modifiers.command) {
            out.push(Command::TypeToSearch(typed));
        }
    }

    if let Some(payload) = response.dnd_release_payload::<PalettePayload>() {
        let at = canvas.pointer.unwrap_or(canvas.center);
        out.push(Command::edit(Edit::AddNode {
            node_type: payload.node_type.clone(),
            position: [at.x, at.y],
            wire_from: None,
            wire_to: None,
        }));
    }

    // Node drags: commit positions once the pointer is released, as one undo step.
    if !ui.input(|i| i.pointer.any_down()) {
        let moves: Vec<(String, [f32; 2])> = canvas
            .snarl
            .nodes_pos_ids()
            .filter_map(|(node, pos, id)| {
                let index = *canvas.snarl_index.get(node.0)?;
                let old = editor
                    .doc
                    .graph
                    .nodes
                    .get(index)
                    .filter(|n| n.id == *id)?
                    .position
                    .unwrap_or([0.0, 0.0]);
                let moved = (old[0] - pos.x).abs() > 0.5 || (old[1] - pos.y).abs() > 0.5;
                moved.then(|| (id.clone(), [pos.x, pos.y]))
            })
            .collect();
        if !moves.is_empty() {
            out.push(Command::edit(Edit::MoveNodes(moves)));
        }
    }

    // egui-snarl selects only with Shift/Ctrl; a plain click on a node selects it here, and a
    // click on empty canvas clears the selection, as authors expect.
    let (clicked, modifiers) = ui.input(|i| (i.pointer.primary_clicked(), i.modifiers));
    if clicked && response.contains_pointer() {
        if let Some(at) = canvas.pointer {
            let hit = canvas
                .node_rects
                .iter()
                .find(|(_, rect)| rect.contains(at))
                .map(|(id, _)| id.clone());
            let mut selection = editor.selection.clone();
            match hit {
                Some(id) if modifiers.shift || modifiers.command => {
                    if let Some(i) = selection.iter().position(|s| *s == id) {
                        selection.remove(i);
                    } else {
                        selection.push(id);
                    }
                }
                Some(id) => selection = vec![id],
                None if modifiers.shift || modifiers.command => {}
                None => selection.clear(),
            }
            if selection != editor.selection {
                out.push(Command::Select(selection));
            }
        }
    }
    // Box selection (Shift+drag) happens inside the snarl: adopt its result when it changes.
    let snarl_selection = widget.get_selected_nodes(ui);
    if snarl_selection != canvas.last_snarl_selection {
        let ids: Vec<String> = snarl_selection
            .iter()
            .filter_map(|id| canvas.snarl.get_node(*id).cloned())
            .collect();
        canvas.last_snarl_selection = snarl_selection;
        if ids.len() > 1 {
            out.push(Command::Select(ids));
        }
    }

    if let Some((message, until)) = &canvas.refusal {
        if ui.input(|i| i.time) < *until {
            egui::Tooltip::always_open(
                ui.ctx().clone(),
                ui.layer_id(),
                egui::Id::new("canvas_refusal"),
                egui::PopupAnchor::Pointer,
            )
            .show(|ui| ui.colored_label(ERROR, message));
            ui.ctx().request_repaint();
        } else {
            canvas.refusal = None;
        }
    }
}

/// Size assumed for nodes the editor has not drawn yet.
pub(super) const DEFAULT_NODE_SIZE: egui::Vec2 = egui::vec2(180.0, 90.0);

/// Where a node is in graph space before the editor has measured it: its position, at
/// [`DEFAULT_NODE_SIZE`].
pub(super) fn placed_rect(node: &workflow_contracts::GraphNode) -> Rect {
    let [x, y] = node.position.unwrap_or([0.0, 0.0]);
    Rect::from_min_size(pos2(x, y), DEFAULT_NODE_SIZE)
}

/// With culling, edges with one end outside the snarl: from output side to input side.
fn culled_wires(editor: &Editor) -> Vec<(Pos2, Pos2, Color32)> {
    let canvas = &editor.canvas;
    if canvas.built_region.is_none() {
        return Vec::new();
    }
    let nodes = &editor.doc.graph.nodes;
    let rect = |i: usize| {
        let node = nodes.get(i)?;
        Some(
            canvas
                .node_rects
                .get(&node.id)
                .copied()
                .unwrap_or_else(|| placed_rect(node)),
        )
    };
    canvas
        .stubs
        .iter()
        .filter_map(|&(a, b, color)| Some((rect(a)?.right_center(), rect(b)?.left_center(), color)))
        .collect()
}

/// The graph-space rectangle around every node, for zoom to fit.
fn fit_rect(editor: &Editor) -> Option<Rect> {
    editor
        .doc
        .graph
        .nodes
        .iter()
        .map(|n| {
            editor.canvas.node_rect(&n.id).unwrap_or_else(|| {
                let [x, y] = n.position.unwrap_or([0.0, 0.0]);
                Rect::from_min_size(pos2(x, y), egui::vec2(180.0, 100.0))
            })
        })
        .reduce(|a, b| a.union(b))
}

struct Viewer<'a> {
    doc: &'a WorkflowDocument,
    /// Node id → graph index.
    index: &'a HashMap<String, usize>,
    /// Validation problems by node id, gathered once per frame.
    problems: &'a HashMap<&'a str, Vec<&'a ValidationError>>,
    selection: &'a HashSet<&'a str>,
    selection_order: &'a [String],
    registry: &'a Registry,
    out: &'a mut Vec<Command>,
    node_rects: HashMap<String, Rect>,
    /// Rectangles from the previous frame (comment frames are drawn before the nodes).
    previous_rects: &'a HashMap<String, Rect>,
    to_global: TSTransform,
    /// A view transform to impose this frame (zoom to fit, leaving the overview).
    set_transform: Option<TSTransform>,
    /// Edges to nodes culled away from the view, drawn as plain lines (graph space).
    stubs: &'a [(Pos2, Pos2, Color32)],
    /// Statuses from the run the graph was opened from.
    run_status: &'a HashMap<String, workflow_engine::runtime::NodeStatus>,
}

impl Viewer<'_> {
    fn node_type(&self, id: &str) -> Option<&str> {
        let i = *self.index.get(id)?;
        Some(self.doc.graph.nodes.get(i)?.node_type.as_str())
    }

    fn def(&self, id: &str) -> Option<&NodeDefinition> {
        self.node_type(id).and_then(|t| self.registry.get(t))
    }

    fn problems(&self, id: &str) -> impl Iterator<Item = &ValidationError> + '_ {
        self.problems.get(id).into_iter().flatten().copied()
    }

    fn edge(&self, from: OutPinId, to: InPinId, snarl: &Snarl<String>) -> Option<Edge> {
        let (a, b) = (snarl.get_node(from.node)?, snarl.get_node(to.node)?);
        let out = self.def(a)?.output_contract.get(from.output)?;
        let inp = self.def(b)?.input_contract.get(to.input)?;
        Some(Edge::new(a, &out.name, b, &inp.name))
    }

    /// Below this zoom, port labels are unreadable: nodes draw without them, which keeps
    /// frames cheap (sooner on large graphs, where it matters most).
    fn zoomed_out(&self) -> bool {
        let scale = self.to_global.scaling;
        scale < 0.35 || (scale < 0.6 && self.doc.graph.nodes.len() > CULL_ABOVE)
    }

    fn pin(&self, t: PortType, error: bool) -> PinInfo {
        let pin = PinInfo::circle().with_fill(port_color(t));
        if error {
            pin.with_stroke(Stroke::new(2.0, ERROR))
        } else {
            pin
        }
    }

    fn insert_ui(&mut self, ui: &mut Ui, pos: Pos2, filter: PortFilter, wire: Wire) {
        if let Some(node_type) = insert_menu_ui(ui, self.registry, self.doc.graph.family, filter) {
            let (wire_from, wire_to) = match wire {
                Wire::None => (None, None),
                Wire::From(n, p) => (Some((n, p)), None),
                Wire::To(n, p) => (None, Some((n, p))),
            };
            self.out.push(Command::edit(Edit::AddNode {
                node_type,
                position: [pos.x, pos.y],
                wire_from,
                wire_to,
            }));
            ui.close();
        }
    }
}

enum Wire {
    None,
    From(String, String),
    To(String, String),
}

impl SnarlViewer<String> for Viewer<'_> {
    fn title(&mut self, node: &String) -> String {
        self.def(node)
            .map_or_else(|| node.clone(), |d| d.label.clone())
    }

    fn node_frame(
        &mut self,
        default: egui::Frame,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        snarl: &Snarl<String>,
    ) -> egui::Frame {
        let Some(id) = snarl.get_node(node) else {
            return default;
        };
        let default = match self.run_status.get(id) {
            Some(status) => {
                default.fill(super::style::run_status_color(*status).gamma_multiply(0.35))
            }
            None => default,
        };
        if self.selection.contains(id.as_str()) {
            default.stroke(Stroke::new(2.0, SELECTED))
        } else if self.problems(id).any(|e| e.severity == Severity::Error) {
            default.stroke(Stroke::new(1.5, ERROR))
        } else {
            default
        }
    }

    fn show_header(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        let Some(id) = snarl.get_node(node) else {
            return;
        };
        let title = self.def(id).map_or(id.as_str(), |d| d.label.as_str());
        let node_type = self.node_type(id).unwrap_or("");
        ui.horizontal(|ui| {
            ui.add(egui::Label::new(RichText::new(title).strong()).extend())
                .on_hover_ui(|ui| {
                    ui.label(format!("{id} · {node_type}"));
                });
            let problems = self
                .problems
                .get(id.as_str())
                .map_or(&[][..], Vec::as_slice);
            if !problems.is_empty() {
                let is_error = problems.iter().any(|e| e.severity == Severity::Error);
                let color = if is_error { ERROR } else { WARNING };
                ui.label(RichText::new(format!("⚠ {}", problems.len())).color(color))
                    .on_hover_ui(|ui| {
                        for p in problems {
                            ui.label(&p.message);
                        }
                    });
            }
        });
    }

    fn inputs(&mut self, node: &String) -> usize {
        self.def(node).map_or(0, |d| d.input_contract.len())
    }

    fn outputs(&mut self, node: &String) -> usize {
        self.def(node).map_or(0, |d| d.output_contract.len())
    }

    #[allow(refining_impl_trait)] // PinInfo is the concrete pin drawer we return.
    fn show_input(&mut self, pin: &InPin, ui: &mut Ui, snarl: &mut Snarl<String>) -> PinInfo {
        let Some(id) = snarl.get_node(pin.id.node) else {
            return PinInfo::circle();
        };
        let Some(port) = self
            .def(id)
            .and_then(|d| d.input_contract.get(pin.id.input))
        else {
            return PinInfo::circle();
        };
        let missing = self.problems(id).any(|e| {
            e.code == ErrorCode::MissingRequiredInput
                && e.port.as_deref() == Some(port.name.as_str())
        });
        if self.zoomed_out() {
            // Too small to read: keep the row (the pin's place) without laying out text.
            ui.allocate_space(egui::vec2(24.0, 14.0));
        } else {
            let mut text = RichText::new(&port.label);
            if !port.required {
                text = text.weak();
            }
            // Extend: a label is never wrapped or elided; the node grows to fit it next frame.
            ui.add(egui::Label::new(text).extend()).on_hover_ui(|ui| {
                let many = if port.multiple { " (many)" } else { "" };
                let optional = if port.required { "" } else { ", optional" };
                ui.label(format!(
                    "{} · {}{many}{optional}\n{}",
                    port.name, port.port_type, port.description
                ));
            });
        }
        self.pin(port.port_type, missing)
    }

    #[allow(refining_impl_trait)] // PinInfo is the concrete pin drawer we return.
    fn show_output(&mut self, pin: &OutPin, ui: &mut Ui, snarl: &mut Snarl<String>) -> PinInfo {
        let Some(id) = snarl.get_node(pin.id.node) else {
            return PinInfo::circle();
        };
        let Some(port) = self
            .def(id)
            .and_then(|d| d.output_contract.get(pin.id.output))
        else {
            return PinInfo::circle();
        };
        if self.zoomed_out() {
            ui.allocate_space(egui::vec2(24.0, 14.0));
        } else {
            // egui-snarl reserves the pin's room only on the input side (its right-to-left
            // output row does not advance past the pin): keep the label clear of the pin.
            ui.add_space(PIN_SIZE + PIN_GAP);
            ui.add(egui::Label::new(&port.label).extend())
                .on_hover_ui(|ui| {
                    ui.label(format!(
                        "{} · {}\n{}",
                        port.name, port.port_type, port.description
                    ));
                });
        }
        self.pin(port.port_type, false)
    }

    fn final_node_rect(
        &mut self,
        node: NodeId,
        rect: Rect,
        _ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        if let Some(id) = snarl.get_node(node) {
            self.node_rects.insert(id.clone(), rect);
        }
    }

    fn draw_background(
        &mut self,
        background: Option<&egui_snarl::ui::BackgroundPattern>,
        viewport: &Rect,
        snarl_style: &SnarlStyle,
        style: &egui::Style,
        painter: &egui::Painter,
        _snarl: &Snarl<String>,
    ) {
        if let Some(background) = background {
            background.draw(viewport, snarl_style, style, painter);
        }
        for (from, to, color) in self.stubs {
            painter.line_segment([*from, *to], Stroke::new(2.0, color.gamma_multiply(0.7)));
        }
        // Comment frames sit behind the nodes and follow their last drawn rectangles.
        for comment in &self.doc.graph.comments {
            let Some(rect) = comment
                .nodes
                .iter()
                .filter_map(|id| self.previous_rects.get(id))
                .copied()
                .reduce(|a, b| a.union(b))
            else {
                continue;
            };
            let frame = Rect::from_min_max(
                rect.min - egui::vec2(16.0, 36.0),
                rect.max + egui::vec2(16.0, 16.0),
            );
            let tint = Color32::from_rgba_unmultiplied(0x60, 0x80, 0xb0, 28);
            painter.rect(
                frame,
                6.0,
                tint,
                Stroke::new(1.0, Color32::from_rgb(0x60, 0x80, 0xb0)),
                egui::StrokeKind::Inside,
            );
            painter.text(
                frame.min + egui::vec2(10.0, 8.0),
                egui::Align2::LEFT_TOP,
                &comment.title,
                egui::FontId::proportional(16.0),
                style.visuals.strong_text_color(),
            );
        }
    }

    fn current_transform(&mut self, to_global: &mut TSTransform, _snarl: &mut Snarl<String>) {
        if let Some(t) = self.set_transform.take() {
            *to_global = t;
        }
        self.to_global = *to_global;
    }

    fn connect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        if let Some(edge) = self.edge(from.id, to.id, snarl) {
            self.out.push(Command::edit(Edit::Connect(edge)));
        }
    }

    fn disconnect(&mut self, from: &OutPin, to: &InPin, snarl: &mut Snarl<String>) {
        if let Some(edge) = self.edge(from.id, to.id, snarl) {
            self.out.push(Command::edit(Edit::Disconnect(vec![edge])));
        }
    }

    fn drop_outputs(&mut self, pin: &OutPin, snarl: &mut Snarl<String>) {
        let edges = pin
            .remotes
            .iter()
            .filter_map(|r| self.edge(pin.id, *r, snarl))
            .collect();
        self.out.push(Command::edit(Edit::Disconnect(edges)));
    }

    fn drop_inputs(&mut self, pin: &InPin, snarl: &mut Snarl<String>) {
        let edges = pin
            .remotes
            .iter()
            .filter_map(|r| self.edge(*r, pin.id, snarl))
            .collect();
        self.out.push(Command::edit(Edit::Disconnect(edges)));
    }

    fn has_graph_menu(&mut self, _pos: Pos2, _snarl: &mut Snarl<String>) -> bool {
        true
    }

    fn show_graph_menu(&mut self, pos: Pos2, ui: &mut Ui, _snarl: &mut Snarl<String>) {
        ui.label(RichText::new("Insert node").strong());
        self.insert_ui(ui, pos, PortFilter::Any, Wire::None);
    }

    fn has_dropped_wire_menu(&mut self, _src: AnyPins, _snarl: &mut Snarl<String>) -> bool {
        true
    }

    fn show_dropped_wire_menu(
        &mut self,
        pos: Pos2,
        ui: &mut Ui,
        src: AnyPins,
        snarl: &mut Snarl<String>,
    ) {
        let source = match src {
            AnyPins::Out(pins) => pins.first().and_then(|p| {
                let id = snarl.get_node(p.node)?.clone();
                let port = self.def(&id)?.output_contract.get(p.output)?.clone();
                Some((
                    PortFilter::Accepts(port.port_type),
                    Wire::From(id, port.name),
                ))
            }),
            AnyPins::In(pins) => pins.first().and_then(|p| {
                let id = snarl.get_node(p.node)?.clone();
                let port = self.def(&id)?.input_contract.get(p.input)?.clone();
                Some((
                    PortFilter::Produces(port.port_type),
                    Wire::To(id, port.name),
                ))
            }),
        };
        if let Some((filter, wire)) = source {
            ui.label(RichText::new("Insert wired node").strong());
            self.insert_ui(ui, pos, filter, wire);
        }
    }

    fn has_node_menu(&mut self, _node: &String) -> bool {
        true
    }

    fn show_node_menu(
        &mut self,
        node: NodeId,
        _inputs: &[InPin],
        _outputs: &[OutPin],
        ui: &mut Ui,
        snarl: &mut Snarl<String>,
    ) {
        let Some(id) = snarl.get_node(node).cloned() else {
            return;
        };
        let targets = if self.selection.contains(id.as_str()) {
            self.selection_order.to_vec()
        } else {
            vec![id]
        };
        for command in [
            Command::DuplicateSelection,
            Command::Copy,
            Command::AutoLayout,
            Command::DeleteSelection,
        ] {
            let label = match command {
                Command::AutoLayout => "Auto-layout selection",
                _ => command.label(),
            };
            if ui.button(label).clicked() {
                self.out.push(Command::Select(targets.clone()));
                self.out.push(command);
                ui.close();
            }
        }
    }
}
