//! Id-buffer pass (`shaders/id_pass.frag`): renders every drawable of a built scene with its
//! own id into an offscreen RGBA8 target and reads it back. The viewer picks parts with it;
//! tests use it to find the pixels a part covers in a render from the same camera.

use three_d::{
    ClearState, Context, DepthTexture2D, RenderTarget, RendererError, Viewport, Wrapping,
};

use super::draw_material::IdMaterial;
use super::scene_builder::BuiltScene;
use super::RenderError;

/// Drawable index + 1 per pixel (0 = background), rows top-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdBuffer {
    pub width: u32,
    pub height: u32,
    ids: Vec<u32>,
}

impl IdBuffer {
    /// The drawable covering pixel (`x`, `y`), `y` counted from the top.
    pub fn drawable_at(&self, x: u32, y: u32) -> Option<usize> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let id = *self.ids.get((y * self.width + x) as usize)?;
        (id > 0).then(|| id as usize - 1)
    }

    /// Raw ids (drawable index + 1, 0 = background), row-major from the top.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Pixels (`x`, `y` from the top) covered by `drawable` whose four neighbours are covered
    /// by it too (away from edges, where multisampled colour renders blend neighbours).
    pub fn interior_pixels(&self, drawable: usize) -> Vec<(u32, u32)> {
        let want = drawable as u32 + 1;
        let at = |x: u32, y: u32| self.ids[(y * self.width + x) as usize];
        let mut out = Vec::new();
        for y in 1..self.height.saturating_sub(1) {
            for x in 1..self.width.saturating_sub(1) {
                if at(x, y) == want
                    && at(x - 1, y) == want
                    && at(x + 1, y) == want
                    && at(x, y - 1) == want
                    && at(x, y + 1) == want
                {
                    out.push((x, y));
                }
            }
        }
        out
    }
}

/// Renders the id buffer of `built` seen by `camera` (its viewport size; the viewport's
/// position is ignored). `visible(i)` says whether drawable `i` takes part (hidden parts
/// cannot be picked).
pub fn render_id_buffer(
    ctx: &Context,
    built: &BuiltScene,
    camera: &three_d::Camera,
    visible: &dyn Fn(usize) -> bool,
) -> Result<IdBuffer, RenderError> {
    let vp = camera.viewport();
    let (w, h) = (vp.width.max(1), vp.height.max(1));
    let mut camera = camera.clone();
    camera.set_viewport(Viewport::new_at_origo(w, h));
    let color = super::new_color_texture(ctx, w, h);
    let depth = DepthTexture2D::new::<f32>(ctx, w, h, Wrapping::ClampToEdge, Wrapping::ClampToEdge);
    let target = RenderTarget::new(color.as_color_target(None), depth.as_depth_target());
    target.clear(ClearState::color_and_depth(0.0, 0.0, 0.0, 0.0, 1.0));
    target
        .write::<RendererError>(|| {
            for (i, d) in built.drawables.iter().enumerate() {
                if visible(i) {
                    let material = IdMaterial { id: i as u32 + 1 };
                    three_d::render_with_material(ctx, &camera, d.mesh(), material, &[])?;
                }
            }
            Ok(())
        })
        .map_err(|e| RenderError::Render(format!("id pass: {e}")))?;
    let pixels: Vec<[u8; 4]> = target.read_color();
    Ok(IdBuffer {
        width: w,
        height: h,
        ids: pixels.into_iter().map(IdMaterial::decode).collect(),
    })
}
