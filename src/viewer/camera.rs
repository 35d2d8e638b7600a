//! Orbit camera of the viewer: orbit, pan, zoom, fit, and the `scene.camera` presets. Presets
//! and fits go through the engine's [`frame_camera`], so "Front" here frames the product
//! exactly as a render with `camera_preset: front` does.

use workflow_engine::camera::{frame_camera, CameraParams, CameraPose, CameraPreset};
use workflow_engine::scene::Aabb;

/// The presets offered in the toolbar, with their labels (the `scene.camera` presets).
pub const PRESETS: [(CameraPreset, &str); 6] = [
    (CameraPreset::Front, "Front"),
    (CameraPreset::Back, "Back"),
    (CameraPreset::Left, "Left"),
    (CameraPreset::Right, "Right"),
    (CameraPreset::Top, "Top"),
    (CameraPreset::ThreeQuarter, "Iso"),
];

/// Degrees of orbit per pixel dragged.
const ORBIT_DEG_PER_PX: f32 = 0.4;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    pub target: [f32; 3],
    pub distance: f32,
    /// Degrees; 0 looks from +Z (front), 90 from +X (right), as in `scene.camera`.
    pub azimuth: f32,
    /// Degrees; positive looks from above.
    pub elevation: f32,
    /// Vertical field of view in degrees.
    pub fov: f32,
    /// Radius of the scene's bounding sphere (clip planes, zoom limits).
    pub scene_radius: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        let p = CameraParams::default();
        let (azimuth, elevation) = p.angles();
        OrbitCamera {
            target: [0.0; 3],
            distance: 5.0,
            azimuth,
            elevation,
            fov: p.fov,
            scene_radius: 1.0,
        }
    }
}

fn direction(azimuth: f32, elevation: f32) -> [f32; 3] {
    let (az, el) = (azimuth.to_radians(), elevation.to_radians());
    [el.cos() * az.sin(), el.sin(), el.cos() * az.cos()]
}

impl OrbitCamera {
    /// Frames `bounds` from `preset` as the renderer would at this aspect ratio.
    pub fn preset(&mut self, preset: CameraPreset, bounds: &Aabb, aspect: f32) {
        let params = CameraParams {
            preset,
            ..CameraParams::default()
        };
        let pose = frame_camera(bounds, &params, aspect);
        let (azimuth, elevation) = params.angles();
        self.set_pose(&pose, azimuth, elevation);
        if !bounds.is_empty() {
            self.scene_radius = bounds.radius().max(1e-6);
        }
    }

    /// Frames `bounds` from the current direction (fit to all / to the selection).
    pub fn fit(&mut self, bounds: &Aabb, aspect: f32) {
        if bounds.is_empty() {
            return;
        }
        let params = CameraParams {
            preset: CameraPreset::Custom,
            azimuth: self.azimuth,
            elevation: self.elevation,
            fov: self.fov,
            ..CameraParams::default()
        };
        let pose = frame_camera(bounds, &params, aspect);
        let (azimuth, elevation) = (self.azimuth, self.elevation.clamp(-90.0, 90.0));
        self.set_pose(&pose, azimuth, elevation);
    }

    fn set_pose(&mut self, pose: &CameraPose, azimuth: f32, elevation: f32) {
        let d = [
            pose.eye[0] - pose.target[0],
            pose.eye[1] - pose.target[1],
            pose.eye[2] - pose.target[2],
        ];
        self.target = pose.target;
        self.distance = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-6);
        self.azimuth = azimuth;
        self.elevation = elevation;
        self.fov = pose.fov;
    }

    /// Turns the camera around the target by a pointer drag in pixels.
    pub fn orbit(&mut self, dx: f32, dy: f32) {
        self.azimuth = (self.azimuth - dx * ORBIT_DEG_PER_PX).rem_euclid(360.0);
        self.elevation = (self.elevation + dy * ORBIT_DEG_PER_PX).clamp(-89.5, 89.5);
    }

    /// Moves the target with the pointer (`dx`, `dy` pixels in a viewport `height` tall).
    pub fn pan(&mut self, dx: f32, dy: f32, height: f32) {
        let (right, up) = self.screen_axes();
        let per_px = 2.0 * self.distance * (self.fov.to_radians() * 0.5).tan() / height.max(1.0);
        for i in 0..3 {
            self.target[i] += (-dx * right[i] + dy * up[i]) * per_px;
        }
    }

    /// Zooms by `steps` (positive: closer), e.g. scroll delta in points / 100.
    pub fn zoom(&mut self, steps: f32) {
        let r = self.scene_radius.max(1e-6);
        self.distance = (self.distance * (-steps * 0.15).exp()).clamp(r * 0.01, r * 100.0);
    }

    /// Camera right and screen-up vectors.
    pub fn screen_axes(&self) -> ([f32; 3], [f32; 3]) {
        let dir = direction(self.azimuth, self.elevation);
        let up = self.up();
        let cross = |a: [f32; 3], b: [f32; 3]| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let norm = |v: [f32; 3]| {
            let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
            [v[0] / l, v[1] / l, v[2] / l]
        };
        let right = norm(cross(up, dir));
        (right, norm(cross(dir, right)))
    }

    fn up(&self) -> [f32; 3] {
        // Straight down/up: as `frame_camera`, screen-up is -Z/+Z.
        if self.elevation.abs() > 89.9 {
            [0.0, 0.0, -self.elevation.signum()]
        } else {
            [0.0, 1.0, 0.0]
        }
    }

    /// The camera as an engine pose (for `scene_builder::camera`).
    pub fn pose(&self) -> CameraPose {
        let dir = direction(self.azimuth, self.elevation);
        let eye = [
            self.target[0] + dir[0] * self.distance,
            self.target[1] + dir[1] * self.distance,
            self.target[2] + dir[2] * self.distance,
        ];
        let r = self.scene_radius.max(1e-6);
        let far = self.distance + r * 2.5;
        CameraPose {
            eye,
            target: self.target,
            up: self.up(),
            fov: self.fov,
            near: (self.distance - r * 2.5).max(far * 1e-4),
            far,
            ortho_height: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_box() -> Aabb {
        Aabb {
            min: [-1.0, -1.0, -1.0],
            max: [1.0, 1.0, 1.0],
        }
    }

    #[test]
    fn presets_match_the_renderer_framing() {
        for (preset, _) in PRESETS {
            let mut cam = OrbitCamera::default();
            cam.preset(preset, &unit_box(), 1.5);
            let ours = cam.pose();
            let theirs = frame_camera(
                &unit_box(),
                &CameraParams {
                    preset,
                    ..CameraParams::default()
                },
                1.5,
            );
            for i in 0..3 {
                assert!((ours.eye[i] - theirs.eye[i]).abs() < 1e-3, "{preset:?}");
                assert!((ours.target[i] - theirs.target[i]).abs() < 1e-4);
                assert!((ours.up[i] - theirs.up[i]).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn orbit_pan_zoom_stay_sane() {
        let mut cam = OrbitCamera::default();
        cam.preset(CameraPreset::Front, &unit_box(), 1.0);
        let d = cam.distance;
        cam.zoom(1.0);
        assert!(cam.distance < d);
        cam.zoom(-1000.0);
        assert!(cam.distance <= cam.scene_radius * 100.0 + 1e-3);
        cam.orbit(0.0, 10_000.0);
        assert!(cam.elevation <= 89.5);
        let before = cam.target;
        cam.pan(100.0, 0.0, 500.0);
        assert_ne!(before, cam.target);
        assert!(cam.pose().near > 0.0);
    }

    #[test]
    fn fit_keeps_the_direction() {
        let mut cam = OrbitCamera::default();
        cam.orbit(30.0, -20.0);
        let (az, el) = (cam.azimuth, cam.elevation);
        let small = Aabb {
            min: [5.0, 5.0, 5.0],
            max: [5.5, 5.5, 5.5],
        };
        cam.fit(&small, 1.0);
        assert_eq!((cam.azimuth, cam.elevation), (az, el));
        assert!((cam.target[0] - 5.25).abs() < 1e-4);
    }
}
