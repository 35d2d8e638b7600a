//! The materials drawables are rendered with: lit PBR for assigned/file materials, and the
//! shader-drawn placeholder stripes for parts without one (`shaders/missing_pattern.frag`).
//! Because the stripes come from the world position in the shader (not baked UVs), a
//! drawable can switch between lit and placeholder by swapping its material only
//! ([`super::scene_builder::BuiltScene::restyle`]).

use three_d::{
    Blend, ColorMapping, ColorTexture, Cull, DepthTest, DepthTexture, Effect, EffectMaterialId,
    Light, Material, MaterialType, PhysicalMaterial, Program, RenderStates, Vec4, Viewer,
    WriteMask,
};

/// Ids in three-d's public range (0x0000–0x4FFF) for the engine's own shaders.
pub(crate) const PLACEHOLDER_MATERIAL_ID: u16 = 0x0A01;
pub(crate) const ID_MATERIAL_ID: u16 = 0x0A02;
pub(crate) const DOWNSAMPLE_EFFECT_ID: u16 = 0x0A03;

/// Unlit diagonal world-space stripes of a loud colour and a dark shade of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaceholderMaterial {
    /// Linear RGBA.
    pub color: [f32; 4],
    /// World units per loud + dark stripe pair.
    pub stripe_width: f32,
}

impl PlaceholderMaterial {
    pub fn dark(&self) -> [f32; 4] {
        let c = self.color;
        [c[0] * 0.1, c[1] * 0.1, c[2] * 0.1, c[3]]
    }
}

impl Material for PlaceholderMaterial {
    fn fragment_shader_source(&self, _lights: &[&dyn Light]) -> String {
        let mut s = String::from(ColorMapping::fragment_shader_source());
        s.push_str(include_str!("../../../../shaders/missing_pattern.frag"));
        s
    }

    fn id(&self) -> EffectMaterialId {
        EffectMaterialId(PLACEHOLDER_MATERIAL_ID)
    }

    fn use_uniforms(&self, program: &Program, viewer: &dyn Viewer, _lights: &[&dyn Light]) {
        viewer.color_mapping().use_uniforms(program);
        program.use_uniform("loudColor", Vec4::from(self.color));
        program.use_uniform("darkColor", Vec4::from(self.dark()));
        program.use_uniform("stripeWidth", self.stripe_width.max(1e-6));
    }

    fn render_states(&self) -> RenderStates {
        RenderStates {
            cull: Cull::None,
            ..Default::default()
        }
    }

    fn material_type(&self) -> MaterialType {
        MaterialType::Opaque
    }
}

/// Writes one drawable id (see `shaders/id_pass.frag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMaterial {
    /// 1-based; 0 is the background.
    pub id: u32,
}

impl IdMaterial {
    /// The id as the shader's output colour (24 bits in RGB, alpha 1).
    pub fn color(&self) -> Vec4 {
        let b = |shift: u32| ((self.id >> shift) & 0xff) as f32 / 255.0;
        Vec4::new(b(0), b(8), b(16), 1.0)
    }

    /// Decodes a pixel of the id buffer.
    pub fn decode(pixel: [u8; 4]) -> u32 {
        if pixel[3] == 0 {
            return 0;
        }
        pixel[0] as u32 | (pixel[1] as u32) << 8 | (pixel[2] as u32) << 16
    }
}

impl Material for IdMaterial {
    fn fragment_shader_source(&self, _lights: &[&dyn Light]) -> String {
        include_str!("../../../../shaders/id_pass.frag").to_owned()
    }

    fn id(&self) -> EffectMaterialId {
        EffectMaterialId(ID_MATERIAL_ID)
    }

    fn use_uniforms(&self, program: &Program, _viewer: &dyn Viewer, _lights: &[&dyn Light]) {
        program.use_uniform("drawableId", self.color());
    }

    fn render_states(&self) -> RenderStates {
        RenderStates {
            cull: Cull::None,
            blend: Blend::Disabled,
            write_mask: WriteMask::default(),
            ..Default::default()
        }
    }

    fn material_type(&self) -> MaterialType {
        MaterialType::Opaque
    }
}

/// What a drawable is rendered with.
pub enum DrawMaterial {
    Lit(Box<PhysicalMaterial>),
    Placeholder(PlaceholderMaterial),
}

impl Material for DrawMaterial {
    fn fragment_shader_source(&self, lights: &[&dyn Light]) -> String {
        match self {
            DrawMaterial::Lit(m) => m.fragment_shader_source(lights),
            DrawMaterial::Placeholder(m) => m.fragment_shader_source(lights),
        }
    }

    fn id(&self) -> EffectMaterialId {
        match self {
            DrawMaterial::Lit(m) => m.id(),
            DrawMaterial::Placeholder(m) => m.id(),
        }
    }

    fn use_uniforms(&self, program: &Program, viewer: &dyn Viewer, lights: &[&dyn Light]) {
        match self {
            DrawMaterial::Lit(m) => m.use_uniforms(program, viewer, lights),
            DrawMaterial::Placeholder(m) => m.use_uniforms(program, viewer, lights),
        }
    }

    fn render_states(&self) -> RenderStates {
        match self {
            DrawMaterial::Lit(m) => m.render_states(),
            DrawMaterial::Placeholder(m) => m.render_states(),
        }
    }

    fn material_type(&self) -> MaterialType {
        match self {
            DrawMaterial::Lit(m) => m.material_type(),
            DrawMaterial::Placeholder(m) => m.material_type(),
        }
    }
}

/// A drawable's material in the colour pass that follows a depth pre-pass: the same program
/// and uniforms, but the depth test passes only the depth the pre-pass left (≤, no depth
/// writes), so every visible pixel runs the lit shader once however much of the product lies
/// behind it (llvmpipe shades whatever passes the early depth test; batches by material have
/// no useful front-to-back order). Only for opaque materials.
pub(crate) struct AfterDepthPrepass<'a>(pub &'a DrawMaterial);

impl Material for AfterDepthPrepass<'_> {
    fn fragment_shader_source(&self, lights: &[&dyn Light]) -> String {
        self.0.fragment_shader_source(lights)
    }

    fn id(&self) -> EffectMaterialId {
        self.0.id()
    }

    fn use_uniforms(&self, program: &Program, viewer: &dyn Viewer, lights: &[&dyn Light]) {
        self.0.use_uniforms(program, viewer, lights)
    }

    fn render_states(&self) -> RenderStates {
        RenderStates {
            depth_test: DepthTest::LessOrEqual,
            write_mask: WriteMask::COLOR,
            ..self.0.render_states()
        }
    }

    fn material_type(&self) -> MaterialType {
        self.0.material_type()
    }
}

/// Averages each 2×2 block of a supersampled frame into one pixel: the box filter a 4×
/// multisample resolve applies, over the stored (sRGB-encoded) values as the resolve does.
pub(crate) struct Downsample2x2;

impl Effect for Downsample2x2 {
    fn fragment_shader_source(
        &self,
        _lights: &[&dyn Light],
        _color_texture: Option<ColorTexture>,
        _depth_texture: Option<DepthTexture>,
    ) -> String {
        "uniform sampler2D colorMap;
        layout (location = 0) out vec4 outColor;
        void main()
        {
            ivec2 p = 2 * ivec2(gl_FragCoord.xy);
            outColor = 0.25 * (texelFetch(colorMap, p, 0) + texelFetch(colorMap, p + ivec2(1, 0), 0)
                + texelFetch(colorMap, p + ivec2(0, 1), 0) + texelFetch(colorMap, p + ivec2(1, 1), 0));
        }"
        .to_owned()
    }

    fn id(
        &self,
        _color_texture: Option<ColorTexture>,
        _depth_texture: Option<DepthTexture>,
    ) -> EffectMaterialId {
        EffectMaterialId(DOWNSAMPLE_EFFECT_ID)
    }

    fn use_uniforms(
        &self,
        program: &Program,
        _viewer: &dyn Viewer,
        _lights: &[&dyn Light],
        color_texture: Option<ColorTexture>,
        _depth_texture: Option<DepthTexture>,
    ) {
        if let Some(ColorTexture::Single(texture)) = color_texture {
            program.use_texture("colorMap", texture);
        }
    }

    fn render_states(&self) -> RenderStates {
        RenderStates {
            depth_test: DepthTest::Always,
            cull: Cull::None,
            blend: Blend::Disabled,
            write_mask: WriteMask::COLOR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_rgba8() {
        for id in [1u32, 255, 256, 65_535, 70_000, 0xff_ffff] {
            let c = IdMaterial { id }.color();
            let px = [c.x, c.y, c.z, c.w].map(|v| (v * 255.0).round() as u8);
            assert_eq!(IdMaterial::decode(px), id);
        }
        assert_eq!(IdMaterial::decode([9, 9, 9, 0]), 0);
    }
}
