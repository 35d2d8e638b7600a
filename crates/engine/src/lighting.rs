//! `scene.lighting`: preset light rigs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LightingPreset {
    Studio,
    Soft,
    Hard,
    Outdoor,
}

impl LightingPreset {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "studio" => LightingPreset::Studio,
            "soft" => LightingPreset::Soft,
            "hard" => LightingPreset::Hard,
            "outdoor" => LightingPreset::Outdoor,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LightingParams {
    pub preset: LightingPreset,
    /// Multiplier on every light.
    pub intensity: f32,
    /// Image-based ambient light (needed for metals to read as metal).
    pub environment: bool,
    pub shadows: bool,
    /// Direction the key light shines in (world space).
    pub key_direction: [f32; 3],
}

impl Default for LightingParams {
    fn default() -> Self {
        LightingParams {
            preset: LightingPreset::Studio,
            intensity: 1.0,
            environment: true,
            shadows: true,
            key_direction: [-1.0, -2.0, -1.5],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirectionalLight {
    pub direction: [f32; 3],
    /// Linear RGB.
    pub color: [f32; 3],
    pub intensity: f32,
    pub casts_shadow: bool,
}

/// The concrete rig a preset expands to; the renderer and scene export both read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LightRig {
    pub directional: Vec<DirectionalLight>,
    pub ambient_color: [f32; 3],
    pub ambient_intensity: f32,
    pub environment: bool,
}

fn normalized(v: [f32; 3]) -> [f32; 3] {
    let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if l > 1e-6 && l.is_finite() {
        [v[0] / l, v[1] / l, v[2] / l]
    } else {
        [-0.37, -0.74, -0.56]
    }
}

/// Expands the lighting parameters into lights.
pub fn light_rig(params: &LightingParams) -> LightRig {
    let k = normalized(params.key_direction);
    // Fill comes from the opposite side horizontally, rim from behind and above.
    let fill_dir = [-k[0], k[1] * 0.5, -k[2] * 0.3];
    let rim_dir = [k[0] * 0.3, -0.6, -k[2]];
    let s = params.intensity.max(0.0);
    let white = [1.0, 1.0, 1.0];
    let light = |direction, color, intensity: f32, casts_shadow| DirectionalLight {
        direction: normalized(direction),
        color,
        intensity: intensity * s,
        casts_shadow: casts_shadow && params.shadows,
    };
    let (directional, ambient_color, ambient) = match params.preset {
        LightingPreset::Studio => (
            vec![
                light(k, white, 2.2, true),
                light(fill_dir, white, 0.7, false),
                light(rim_dir, white, 0.9, false),
            ],
            white,
            0.5,
        ),
        LightingPreset::Soft => (
            vec![
                light(k, white, 1.3, true),
                light(fill_dir, white, 1.0, false),
            ],
            white,
            0.9,
        ),
        LightingPreset::Hard => (vec![light(k, white, 3.2, true)], white, 0.2),
        LightingPreset::Outdoor => (
            vec![
                light(k, [1.0, 0.95, 0.85], 3.0, true),
                light([0.0, -1.0, 0.0], [0.6, 0.75, 1.0], 0.5, false),
            ],
            [0.8, 0.88, 1.0],
            0.6,
        ),
    };
    LightRig {
        directional,
        ambient_color,
        ambient_intensity: ambient * s,
        environment: params.environment,
    }
}
