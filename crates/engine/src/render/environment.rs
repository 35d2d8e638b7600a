//! The studio environment's image-based lighting, baked.
//!
//! The studio environment never changes, yet filtering it into three-d's irradiance, prefilter
//! and BRDF maps ran a dozen shader programs (and compiled them) on every renderer start: on
//! llvmpipe that was most of a cold one-shot run's start. The maps are computed once with
//! exactly three-d's precompute ([`compute`]), stored in `studio_environment.bin` and uploaded
//! at start ([`studio`]). `tests::the_baked_maps_are_the_precomputed_maps` recomputes them and
//! fails when the environment or its options change without a rebake
//! (`cargo run -p workflow-engine --example bake_environment`).
#![allow(unsafe_code)]

use glow::HasContext;
use three_d::{
    f16, AmbientLight, Context, CpuTexture, CubeMapSide, Environment, Interpolation, Srgba,
    Texture2D, TextureCubeMap, TextureData, Wrapping,
};

use super::scene_builder::{environment_options, studio_environment};

/// The baked maps (written by [`bake`]).
const BAKED: &[u8] = include_bytes!("studio_environment.bin");
const MAGIC: &[u8; 8] = b"WSENV01\n";

/// The six sides in the order they are stored.
const SIDES: [CubeMapSide; 6] = [
    CubeMapSide::Right,
    CubeMapSide::Left,
    CubeMapSide::Top,
    CubeMapSide::Bottom,
    CubeMapSide::Front,
    CubeMapSide::Back,
];

/// Texels of a cube map: `levels[mip][side]`, each side's rows top first (as three-d reads
/// and fills textures), RGBA as f16 bits.
pub type CubeLevels = Vec<Vec<Vec<[u16; 4]>>>;

/// The maps as texel data.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentMaps {
    pub irradiance_size: u32,
    /// Every level of the irradiance map (three-d's precompute mip-maps level 0 after writing
    /// it, so the lower levels are part of the result).
    pub irradiance: CubeLevels,
    pub prefilter_size: u32,
    /// Every level of the prefilter map (one roughness per level).
    pub prefilter: CubeLevels,
    pub brdf_size: u32,
    pub brdf: Vec<[f32; 2]>,
}

/// Ambient light with the baked studio environment: no shader runs.
pub fn studio(ctx: &Context) -> AmbientLight {
    let environment = match EnvironmentMaps::parse(BAKED) {
        Some(maps) => maps.upload(ctx),
        // Only a broken build could get here (the bytes are compiled in and tested).
        None => compute(ctx),
    };
    ambient(environment)
}

/// White ambient light of full intensity from `environment`.
fn ambient(environment: Environment) -> AmbientLight {
    AmbientLight {
        intensity: 1.0,
        color: Srgba::WHITE,
        environment: Some(environment),
    }
}

/// three-d's precompute of the studio environment (what [`studio`] uploads ready-made).
pub fn compute(ctx: &Context) -> Environment {
    Environment::new_with_options(ctx, &studio_environment(ctx), environment_options())
}

/// Number of levels of three-d's mip chain for a `size`² texture (its
/// `calculate_number_of_mip_maps`: down to 2², not 1²).
fn mip_levels(size: u32) -> u32 {
    if size < 2 {
        1
    } else {
        size.next_power_of_two().ilog2()
    }
}

/// Reads an environment's maps back (for [`bake`] and the test).
pub fn read(env: &Environment) -> EnvironmentMaps {
    let bits = |v: Vec<[f32; 4]>| -> Vec<[u16; 4]> {
        v.into_iter()
            .map(|t| t.map(|c| f16::from_f32(c).to_bits()))
            .collect()
    };
    let cube = |map: &TextureCubeMap| -> CubeLevels {
        (0..mip_levels(map.width()))
            .map(|mip| {
                SIDES
                    .iter()
                    .map(|&s| bits(map.as_color_target(&[s], Some(mip)).read()))
                    .collect()
            })
            .collect()
    };
    EnvironmentMaps {
        irradiance_size: env.irradiance_map.width(),
        irradiance: cube(&env.irradiance_map),
        prefilter_size: env.prefilter_map.width(),
        prefilter: cube(&env.prefilter_map),
        brdf_size: env.brdf_map.width(),
        brdf: env.brdf_map.as_color_target(None).read(),
    }
}

/// The bytes of `studio_environment.bin`, computed on this machine's GL.
pub fn bake(ctx: &Context) -> Vec<u8> {
    read(&compute(ctx)).to_bytes()
}

impl EnvironmentMaps {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for v in [self.irradiance_size, self.prefilter_size, self.brdf_size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let texels = self
            .irradiance
            .iter()
            .chain(&self.prefilter)
            .flatten()
            .flatten();
        for t in texels {
            for c in t {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        for t in &self.brdf {
            for c in t {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// `None` unless `bytes` is exactly what [`EnvironmentMaps::to_bytes`] writes.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC.as_slice())?;
        let (head, mut rest) = rest.split_at_checked(12)?;
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (irradiance_size, prefilter_size, brdf_size) = (word(0), word(4), word(8));
        if irradiance_size > 64 || prefilter_size > 128 || brdf_size > 512 {
            return None;
        }
        let mut cube = |size: u32| -> Option<CubeLevels> {
            (0..mip_levels(size))
                .map(|mip| {
                    let n = ((size >> mip).max(1) as usize).pow(2);
                    (0..6)
                        .map(|_| {
                            let (data, tail) = rest.split_at_checked(n * 8)?;
                            rest = tail;
                            Some(
                                data.chunks_exact(8)
                                    .map(|t| {
                                        std::array::from_fn(|i| {
                                            u16::from_le_bytes([t[2 * i], t[2 * i + 1]])
                                        })
                                    })
                                    .collect(),
                            )
                        })
                        .collect()
                })
                .collect()
        };
        let irradiance = cube(irradiance_size)?;
        let prefilter = cube(prefilter_size)?;
        if rest.len() != (brdf_size as usize).pow(2) * 8 {
            return None;
        }
        let brdf = rest
            .chunks_exact(8)
            .map(|t| {
                [
                    f32::from_le_bytes([t[0], t[1], t[2], t[3]]),
                    f32::from_le_bytes([t[4], t[5], t[6], t[7]]),
                ]
            })
            .collect();
        Some(EnvironmentMaps {
            irradiance_size,
            irradiance,
            prefilter_size,
            prefilter,
            brdf_size,
            brdf,
        })
    }

    /// The maps as textures like three-d's precompute makes them (same sizes, formats,
    /// filters and mip chains), filled with the stored texels.
    pub fn upload(&self, ctx: &Context) -> Environment {
        let brdf_map = Texture2D::new(
            ctx,
            &CpuTexture {
                data: TextureData::RgF32(self.brdf.clone()),
                width: self.brdf_size,
                height: self.brdf_size,
                min_filter: Interpolation::Linear,
                mag_filter: Interpolation::Linear,
                mipmap: None,
                wrap_s: Wrapping::ClampToEdge,
                wrap_t: Wrapping::ClampToEdge,
                ..Default::default()
            },
        );
        Environment {
            irradiance_map: cube_map(ctx, self.irradiance_size, &self.irradiance),
            prefilter_map: cube_map(ctx, self.prefilter_size, &self.prefilter),
            brdf_map,
        }
    }
}

/// An RGBA f16 cube map with every level of `levels` written, sampled with linear mip-map
/// filtering like three-d's mip-mapped textures. Made without three-d's mip-map argument,
/// because that runs `glGenerateMipmap`, and on llvmpipe the first one compiles a blit shader
/// (≈ 75 ms of a cold start) only for the levels to be overwritten.
fn cube_map(ctx: &Context, size: u32, levels: &CubeLevels) -> TextureCubeMap {
    let mut name = None;
    // SAFETY: the callback runs with the new texture bound and allocates its storage (all of
    // `levels`), as three-d's own constructors do.
    let texture = unsafe {
        TextureCubeMap::new_unchecked::<[f16; 4]>(
            ctx,
            size,
            size,
            Interpolation::Linear,
            Interpolation::Linear,
            None,
            Wrapping::ClampToEdge,
            Wrapping::ClampToEdge,
            Wrapping::ClampToEdge,
            |_| {
                name = ctx.get_parameter_texture(glow::TEXTURE_BINDING_CUBE_MAP);
                ctx.tex_storage_2d(
                    glow::TEXTURE_CUBE_MAP,
                    levels.len() as i32,
                    glow::RGBA16F,
                    size as i32,
                    size as i32,
                );
            },
        )
    };
    // SAFETY: `name` is the texture just created on this context; each upload is exactly one
    // level of one side (sizes checked by `parse`).
    unsafe {
        ctx.bind_texture(glow::TEXTURE_CUBE_MAP, name);
        ctx.tex_parameter_i32(
            glow::TEXTURE_CUBE_MAP,
            glow::TEXTURE_MIN_FILTER,
            glow::LINEAR_MIPMAP_LINEAR as i32,
        );
        ctx.pixel_store_i32(glow::UNPACK_ALIGNMENT, 4);
        for (mip, sides) in levels.iter().enumerate() {
            let n = (size >> mip).max(1) as usize;
            for (i, texels) in sides.iter().enumerate() {
                // Stored top row first; GL takes the bottom row first.
                let mut bytes = Vec::with_capacity(texels.len() * 8);
                for row in texels.chunks_exact(n).rev() {
                    for t in row {
                        for c in t {
                            bytes.extend_from_slice(&c.to_le_bytes());
                        }
                    }
                }
                ctx.tex_sub_image_2d(
                    glow::TEXTURE_CUBE_MAP_POSITIVE_X + i as u32,
                    mip as i32,
                    0,
                    0,
                    n as i32,
                    n as i32,
                    glow::RGBA,
                    glow::HALF_FLOAT,
                    glow::PixelUnpackData::Slice(Some(&bytes)),
                );
            }
        }
        ctx.bind_texture(glow::TEXTURE_CUBE_MAP, None);
    }
    texture
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::context::HeadlessContext;

    #[test]
    fn the_bytes_round_trip_and_refuse_truncation() {
        let maps = EnvironmentMaps::parse(BAKED).expect("the baked file parses");
        assert_eq!(maps.to_bytes(), BAKED);
        assert_eq!((maps.irradiance.len(), maps.prefilter.len()), (4, 5));
        assert!(EnvironmentMaps::parse(&BAKED[..BAKED.len() - 1]).is_none());
        assert!(EnvironmentMaps::parse(b"WSENV01\n").is_none());
    }

    /// Recomputes the maps with three-d and compares them with the baked ones, then reads the
    /// uploaded baked maps back: they must be the stored texels.
    #[test]
    fn the_baked_maps_are_the_precomputed_maps() {
        let ctx = HeadlessContext::new().expect("headless GL");
        let fresh = read(&compute(ctx.gl()));
        let baked = EnvironmentMaps::parse(BAKED).expect("the baked file parses");
        let uploaded = read(&baked.upload(ctx.gl()));
        assert_eq!(uploaded, baked, "uploading changes the texels");
        // Bit-identical on the llvmpipe that baked them; another GPU's float maths may differ
        // in the last bits, a changed environment or option by far more.
        let diff = max_difference(&fresh, &baked);
        assert!(
            diff < 2e-3,
            "the baked environment differs from three-d's precompute by {diff}: rebake with \
             `cargo run -p workflow-engine --example bake_environment`"
        );
    }

    /// The same stills with the baked maps and with three-d's precompute.
    #[test]
    fn stills_lit_by_the_baked_maps_match_the_precomputed_ones() {
        use crate::lighting::LightingParams;
        use crate::render::{ImageParams, Renderer};
        use crate::{extract_manifest, import_file, ImportParams, ManifestParams};
        let fixtures =
            crate::golden::find_fixtures(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
                .join("gltf");
        let mut renderer = Renderer::new().expect("headless GL");
        for name in [
            "2CylinderEngine.glb",
            "BoxTextured.glb",
            "NegativeScaleTest.glb",
        ] {
            let scene = import_file(&fixtures.join(name), &ImportParams::default()).expect(name);
            let manifest = extract_manifest(&scene, &ManifestParams::default()).expect("manifest");
            let resolution = crate::MaterialResolution::file_preview(&manifest);
            let params = ImageParams {
                width: 160,
                height: 160,
                ..ImageParams::default()
            };
            let light = LightingParams::default();
            let baked = renderer
                .render_still(&scene, &manifest, &resolution, &light, &params)
                .expect("render")
                .rgba;
            let saved = renderer
                .environment
                .replace(ambient(compute(renderer.context())));
            let fresh = renderer
                .render_still(&scene, &manifest, &resolution, &light, &params)
                .expect("render")
                .rgba;
            renderer.environment = saved;
            let worst = baked.iter().zip(&fresh).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(worst <= Some(2), "{name}: pixels differ by up to {worst:?}");
        }
    }

    fn max_difference(a: &EnvironmentMaps, b: &EnvironmentMaps) -> f32 {
        assert_eq!(
            (a.irradiance_size, a.prefilter_size, a.brdf_size),
            (b.irradiance_size, b.prefilter_size, b.brdf_size),
            "sizes changed: rebake"
        );
        let texels = |m: &EnvironmentMaps| -> Vec<f32> {
            m.irradiance
                .iter()
                .chain(&m.prefilter)
                .flatten()
                .flatten()
                .flat_map(|t| t.map(|c| f16::from_bits(c).to_f32()))
                .chain(m.brdf.iter().flatten().copied())
                .collect()
        };
        texels(a)
            .iter()
            .zip(texels(b))
            .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1.0))
            .fold(0.0, f32::max)
    }
}
