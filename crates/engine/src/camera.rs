//! `scene.camera`: presets, custom azimuth/elevation, and auto-fit to the product's bounds.

use crate::scene::Aabb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraPreset {
    ThreeQuarter,
    Front,
    Back,
    Left,
    Right,
    Top,
    Bottom,
    Custom,
}

impl CameraPreset {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "three_quarter" => CameraPreset::ThreeQuarter,
            "front" => CameraPreset::Front,
            "back" => CameraPreset::Back,
            "left" => CameraPreset::Left,
            "right" => CameraPreset::Right,
            "top" => CameraPreset::Top,
            "bottom" => CameraPreset::Bottom,
            "custom" => CameraPreset::Custom,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    Perspective,
    Orthographic,
}

/// Camera parameters shared by `scene.camera`, `render.thumbnail` and `render.still`.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraParams {
    pub preset: CameraPreset,
    /// Empty border as a fraction of the frame (0..0.9).
    pub margin: f32,
    /// Degrees, custom preset only. 0 looks from +Z (front), 90 from +X (right).
    pub azimuth: f32,
    /// Degrees, custom preset only. Positive looks from above.
    pub elevation: f32,
    /// Vertical field of view in degrees.
    pub fov: f32,
    pub projection: Projection,
}

impl Default for CameraParams {
    fn default() -> Self {
        CameraParams {
            preset: CameraPreset::ThreeQuarter,
            margin: 0.05,
            azimuth: 35.0,
            elevation: 25.0,
            fov: 30.0,
            projection: Projection::Perspective,
        }
    }
}

/// A placed camera (Y up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraPose {
    pub eye: [f32; 3],
    pub target: [f32; 3],
    pub up: [f32; 3],
    /// Vertical field of view in degrees (perspective).
    pub fov: f32,
    pub near: f32,
    pub far: f32,
    /// Visible height for orthographic cameras.
    pub ortho_height: Option<f32>,
}

impl CameraParams {
    /// Azimuth/elevation in degrees the preset looks from.
    pub fn angles(&self) -> (f32, f32) {
        match self.preset {
            CameraPreset::ThreeQuarter => (35.0, 25.0),
            CameraPreset::Front => (0.0, 0.0),
            CameraPreset::Back => (180.0, 0.0),
            CameraPreset::Right => (90.0, 0.0),
            CameraPreset::Left => (-90.0, 0.0),
            CameraPreset::Top => (0.0, 90.0),
            CameraPreset::Bottom => (0.0, -90.0),
            CameraPreset::Custom => (self.azimuth, self.elevation.clamp(-90.0, 90.0)),
        }
    }
}

/// Places the camera so the bounding sphere of `bounds` fills the frame minus the margin.
pub fn frame_camera(bounds: &Aabb, params: &CameraParams, aspect: f32) -> CameraPose {
    let (center, radius) = if bounds.is_empty() {
        (three_d::vec3(0.0, 0.0, 0.0), 1.0)
    } else {
        (bounds.center(), bounds.radius().max(1e-6))
    };
    let (az, el) = params.angles();
    let (az, el) = (az.to_radians(), el.to_radians());
    let dir = three_d::vec3(el.cos() * az.sin(), el.sin(), el.cos() * az.cos());
    // Looking straight down/up: "up" on screen is -Z/+Z so the front faces the viewer's bottom.
    let up = if el.abs() > 89.9f32.to_radians() {
        [0.0, 0.0, -el.signum()]
    } else {
        [0.0, 1.0, 0.0]
    };
    let margin = params.margin.clamp(0.0, 0.9);
    let aspect = if aspect.is_finite() && aspect > 0.0 {
        aspect
    } else {
        1.0
    };
    let half_v = (params.fov.clamp(1.0, 170.0).to_radians()) * 0.5;
    let half_h = (half_v.tan() * aspect).atan();
    let half = half_v.min(half_h);
    let fit_half = (half.tan() * (1.0 - margin)).atan();
    let (distance, ortho_height) = match params.projection {
        Projection::Perspective => (radius / fit_half.sin(), None),
        Projection::Orthographic => {
            let h = 2.0 * radius / (1.0 - margin) / aspect.min(1.0);
            (radius * 3.0, Some(h))
        }
    };
    let eye = center + dir * distance;
    CameraPose {
        eye: eye.into(),
        target: center.into(),
        up,
        fov: params.fov,
        near: (distance - radius * 1.5).max(distance * 1e-3),
        far: distance + radius * 1.5,
        ortho_height,
    }
}
