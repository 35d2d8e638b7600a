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

/// Places the camera looking at the centre of `bounds` so that all eight corners of the box
/// fit the frame minus the margin (tight product framing, not the loose bounding sphere).
pub fn frame_camera(bounds: &Aabb, params: &CameraParams, aspect: f32) -> CameraPose {
    use three_d::InnerSpace;
    let bounds = if bounds.is_empty() {
        Aabb {
            min: [-1.0; 3],
            max: [1.0; 3],
        }
    } else {
        *bounds
    };
    let center = bounds.center();
    let radius = bounds.radius().max(1e-6);
    let (az, el) = params.angles();
    let (az, el) = (az.to_radians(), el.to_radians());
    let dir = three_d::vec3(el.cos() * az.sin(), el.sin(), el.cos() * az.cos());
    // Looking straight down/up: "up" on screen is -Z/+Z so the front faces the viewer's bottom.
    let up = if el.abs() > 89.9f32.to_radians() {
        three_d::vec3(0.0, 0.0, -el.signum())
    } else {
        three_d::vec3(0.0, 1.0, 0.0)
    };
    let right = up.cross(dir).normalize();
    let screen_up = dir.cross(right).normalize();
    let margin = params.margin.clamp(0.0, 0.9);
    let aspect = if aspect.is_finite() && aspect > 0.0 {
        aspect
    } else {
        1.0
    };
    let tan_v = ((params.fov.clamp(1.0, 170.0).to_radians()) * 0.5).tan() * (1.0 - margin);
    let tan_h = tan_v * aspect;
    let corners: Vec<three_d::Vec3> = (0..8)
        .map(|i| {
            let pick = |axis: usize| {
                if i >> axis & 1 == 1 {
                    bounds.max[axis]
                } else {
                    bounds.min[axis]
                }
            };
            three_d::vec3(pick(0), pick(1), pick(2)) - center
        })
        .collect();
    let (distance, ortho_height) = match params.projection {
        // Each corner needs |x| ≤ depth·tan_h and |y| ≤ depth·tan_v, depth = d − p·dir.
        Projection::Perspective => {
            let d = corners
                .iter()
                .map(|p| {
                    let along = p.dot(dir);
                    (along + p.dot(right).abs() / tan_h).max(along + p.dot(screen_up).abs() / tan_v)
                })
                .fold(f32::MIN, f32::max);
            (d.max(radius * 1e-3), None)
        }
        Projection::Orthographic => {
            let half_w = corners
                .iter()
                .map(|p| p.dot(right).abs())
                .fold(0.0, f32::max);
            let half_h = corners
                .iter()
                .map(|p| p.dot(screen_up).abs())
                .fold(0.0, f32::max);
            let h = 2.0 * half_h.max(half_w / aspect) / (1.0 - margin);
            (radius * 3.0, Some(h.max(1e-6)))
        }
    };
    let eye = center + dir * distance;
    CameraPose {
        eye: eye.into(),
        target: center.into(),
        up: up.into(),
        fov: params.fov,
        near: (distance - radius * 1.01).max(distance * 1e-3),
        far: distance + radius * 1.01,
        ortho_height,
    }
}
