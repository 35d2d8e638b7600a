use workflow_engine::camera::{frame_camera, CameraParams, CameraPreset, Projection};
use workflow_engine::lighting::{light_rig, LightingParams, LightingPreset};
use workflow_engine::scene::Aabb;

fn unit() -> Aabb {
    Aabb {
        min: [-1.0, -1.0, -1.0],
        max: [1.0, 1.0, 1.0],
    }
}

#[test]
fn presets_look_from_the_named_side() {
    for (preset, axis, sign) in [
        (CameraPreset::Front, 2, 1.0),
        (CameraPreset::Back, 2, -1.0),
        (CameraPreset::Right, 0, 1.0),
        (CameraPreset::Left, 0, -1.0),
        (CameraPreset::Top, 1, 1.0),
        (CameraPreset::Bottom, 1, -1.0),
    ] {
        let pose = frame_camera(
            &unit(),
            &CameraParams {
                preset,
                ..Default::default()
            },
            1.0,
        );
        assert!(pose.eye[axis] * sign > 1.0, "{preset:?}: {:?}", pose.eye);
        assert_eq!(pose.target, [0.0, 0.0, 0.0]);
    }
    let custom = CameraParams {
        preset: CameraPreset::Custom,
        azimuth: 90.0,
        elevation: 0.0,
        ..Default::default()
    };
    let pose = frame_camera(&unit(), &custom, 1.0);
    assert!(pose.eye[0] > 1.0 && pose.eye[2].abs() < 1e-4);
}

#[test]
fn framing_fits_the_bounds_and_margin_moves_back() {
    let tight = frame_camera(
        &unit(),
        &CameraParams {
            margin: 0.0,
            ..Default::default()
        },
        1.0,
    );
    let loose = frame_camera(
        &unit(),
        &CameraParams {
            margin: 0.5,
            ..Default::default()
        },
        1.0,
    );
    let dist =
        |p: &workflow_engine::camera::CameraPose| p.eye.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(dist(&loose) > dist(&tight));
    // Every corner projects inside the frame, and some corner touches its edge (tight fit).
    let max_ndc = |pose: &workflow_engine::camera::CameraPose| {
        let cam = three_d::Camera::new_perspective(
            three_d::Viewport::new_at_origo(100, 100),
            pose.eye.into(),
            pose.target.into(),
            pose.up.into(),
            three_d::degrees(pose.fov),
            pose.near,
            pose.far,
        );
        let m = cam.projection() * cam.view();
        (0..8)
            .map(|i| {
                let c = |a: usize| if i >> a & 1 == 1 { 1.0 } else { -1.0 };
                let v = m * three_d::Vec4::new(c(0), c(1), c(2), 1.0);
                (v.x / v.w).abs().max((v.y / v.w).abs())
            })
            .fold(0.0f32, f32::max)
    };
    for preset in [
        CameraPreset::ThreeQuarter,
        CameraPreset::Front,
        CameraPreset::Top,
    ] {
        let pose = frame_camera(
            &unit(),
            &CameraParams {
                preset,
                margin: 0.1,
                ..Default::default()
            },
            1.0,
        );
        let edge = max_ndc(&pose);
        assert!(
            (edge - 0.9).abs() < 1e-3,
            "{preset:?}: corners reach {edge}"
        );
    }
    assert!(tight.near > 0.0 && tight.far > dist(&tight) + 1.7);
    let wide = frame_camera(
        &unit(),
        &CameraParams {
            margin: 0.0,
            ..Default::default()
        },
        0.5,
    );
    assert!(
        dist(&wide) > dist(&tight),
        "narrow images move the camera back"
    );
    let ortho = frame_camera(
        &unit(),
        &CameraParams {
            projection: Projection::Orthographic,
            ..Default::default()
        },
        1.0,
    );
    assert!(ortho.ortho_height.expect("ortho") > 2.0, "{ortho:?}");
}

#[test]
fn lighting_presets_and_intensity() {
    let studio = light_rig(&LightingParams::default());
    assert_eq!(studio.directional.len(), 3);
    assert!(studio.directional[0].casts_shadow);
    let doubled = light_rig(&LightingParams {
        intensity: 2.0,
        ..Default::default()
    });
    assert!(
        (doubled.directional[0].intensity - 2.0 * studio.directional[0].intensity).abs() < 1e-5
    );
    let no_shadow = light_rig(&LightingParams {
        shadows: false,
        preset: LightingPreset::Hard,
        ..Default::default()
    });
    assert!(no_shadow.directional.iter().all(|l| !l.casts_shadow));
    let key = light_rig(&LightingParams {
        key_direction: [0.0, -3.0, 0.0],
        ..Default::default()
    });
    assert_eq!(key.directional[0].direction, [0.0, -1.0, 0.0]);
    for p in ["studio", "soft", "hard", "outdoor"] {
        assert!(LightingPreset::parse(p).is_some());
    }
}
