//! Invariants under rigid motion and scaling (proptest), and exactness far from the origin.
//!
//! Coordinates are stored as f32, so moving a part changes each corner by up to half an f32
//! step at the new position. The tolerances below are exactly that rounding propagated to
//! volume and area (each corner moving by at most `delta` changes the volume by at most
//! `area * delta` and the area by at most `perimeter * delta`), not fitted constants.

use pricing_engine::analysis::analyze;
use pricing_engine::mesh::{Format, Mesh, Triangle};
use proptest::prelude::*;

use std::path::PathBuf;

use super::{fixture, load, repo_root, shared_models};

fn triangles_of(mesh: &Mesh) -> Vec<Triangle> {
    (0..mesh.triangles().len())
        .map(|idx| mesh.corners(idx))
        .collect()
}

fn transformed(triangles: &[Triangle], f: impl Fn([f64; 3]) -> [f64; 3]) -> Vec<Triangle> {
    triangles
        .iter()
        .map(|t| t.map(|p| f(p.map(f64::from)).map(|v| v as f32)))
        .collect()
}

/// A rotation matrix from a unit quaternion built from three uniform numbers (Shoemake).
fn rotation(u: [f64; 3]) -> [[f64; 3]; 3] {
    use std::f64::consts::TAU;
    let (a, b) = ((1.0 - u[0]).sqrt(), u[0].sqrt());
    let (w, x, y, z) = (
        a * (TAU * u[1]).sin(),
        a * (TAU * u[1]).cos(),
        b * (TAU * u[2]).sin(),
        b * (TAU * u[2]).cos(),
    );
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

/// Σ triangle perimeters, for the area tolerance.
fn perimeter_sum(triangles: &[Triangle]) -> f64 {
    let distance = |a: [f32; 3], b: [f32; 3]| {
        (0..3)
            .map(|i| f64::from(a[i] - b[i]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    triangles
        .iter()
        .map(|t| distance(t[0], t[1]) + distance(t[1], t[2]) + distance(t[2], t[0]))
        .sum()
}

fn max_abs(triangles: &[Triangle]) -> f64 {
    triangles
        .iter()
        .flatten()
        .flatten()
        .fold(0.0f64, |m, v| m.max(f64::from(v.abs())))
}

/// Closed models, plus the open box: an open surface's volume is measured about the centre of
/// its bounding box, which moves with a centrally symmetric part like this one.
fn base_models() -> Vec<(&'static str, Vec<Triangle>)> {
    [
        "uv_sphere_r10.stl",
        "torus_r20_r5.stl",
        "box_with_void.stl",
        "open_box.stl",
    ]
    .into_iter()
    .map(|name| {
        (
            name,
            triangles_of(&load(&fixture(name)).expect("fixture loads")),
        )
    })
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn rigid_motion_preserves_volume_and_area(
        model in 0usize..4,
        u in prop::array::uniform3(0.0f64..1.0),
        shift in prop::array::uniform3(-1000.0f64..1000.0),
    ) {
        let models = base_models();
        let (name, triangles) = &models[model];
        let before = analyze(&Mesh::from_triangles(triangles, Format::BinaryStl).expect("welds"));
        let r = rotation(u);
        let moved = transformed(triangles, |p| std::array::from_fn(|i| r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2] + shift[i]));
        let after = analyze(&Mesh::from_triangles(&moved, Format::BinaryStl).expect("welds"));
        // Half an f32 step at the largest coordinate, on each of three axes.
        let delta = (max_abs(&moved).max(max_abs(triangles)) * f64::from(f32::EPSILON)) * 3f64.sqrt();
        let volume_tolerance = before.area_mm2 * delta;
        let area_tolerance = perimeter_sum(triangles) * delta;
        prop_assert!((after.volume_mm3 - before.volume_mm3).abs() <= volume_tolerance,
            "{name}: volume {} -> {} (tolerance {volume_tolerance})", before.volume_mm3, after.volume_mm3);
        prop_assert!((after.area_mm2 - before.area_mm2).abs() <= area_tolerance,
            "{name}: area {} -> {} (tolerance {area_tolerance})", before.area_mm2, after.area_mm2);
        prop_assert_eq!(after.shells.len(), before.shells.len());
        prop_assert_eq!(after.watertight, before.watertight);
    }

    #[test]
    fn volume_scales_with_the_cube_of_the_scale(model in 0usize..3, scale in 0.01f64..100.0) {
        let models = base_models();
        let (name, triangles) = &models[model];
        let before = analyze(&Mesh::from_triangles(triangles, Format::BinaryStl).expect("welds"));
        let scaled = transformed(triangles, |p| p.map(|v| v * scale));
        let after = analyze(&Mesh::from_triangles(&scaled, Format::BinaryStl).expect("welds"));
        let delta = max_abs(&scaled) * f64::from(f32::EPSILON) * 3f64.sqrt();
        let expected = before.volume_mm3 * scale.powi(3);
        let tolerance = after.area_mm2 * delta;
        prop_assert!((after.volume_mm3 - expected).abs() <= tolerance,
            "{name} x{scale}: volume {} expected {expected} (tolerance {tolerance})", after.volume_mm3);
        let expected_area = before.area_mm2 * scale * scale;
        prop_assert!((after.area_mm2 - expected_area).abs() <= perimeter_sum(&scaled) * delta,
            "{name} x{scale}: area {} expected {expected_area}", after.area_mm2);
    }
}

/// A cube 100 km from the origin, where every coordinate is still an exact f32: a signed
/// volume about the origin would sum terms of 10^15 to get 1000 and lose all precision.
#[test]
fn volume_is_exact_far_from_the_origin() {
    let cube = triangles_of(&load(&fixture("cube_10mm.stl")).expect("cube"));
    for offset in [1.0e5f64, -3.0e6, 1.6e7] {
        let far = transformed(&cube, |p| p.map(|v| v + offset));
        let analysis = analyze(&Mesh::from_triangles(&far, Format::BinaryStl).expect("welds"));
        assert_eq!(analysis.volume_mm3, 1000.0, "offset {offset}");
        assert_eq!(analysis.area_mm2, 600.0, "offset {offset}");
        assert_eq!(analysis.centroid_mm, [offset + 5.0; 3], "offset {offset}");
    }
}

/// The analysis files half-edges in one region per thread (up to a limit) and joins shells
/// with a lock-free union-find: the result must not depend on how many threads there are, on
/// any fixture (their defects included) or on the shared models below 5 MB.
#[test]
fn the_analysis_does_not_depend_on_the_number_of_threads() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("fixtures/models"))
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path())
        .collect();
    if let Some(dir) = shared_models() {
        let entries = std::fs::read_dir(dir).expect("shared models");
        files.extend(
            entries
                .map(|entry| entry.expect("entry").path())
                .filter(|path| path.metadata().is_ok_and(|m| m.len() < 5_000_000)),
        );
    }
    files.sort();
    let mut compared = 0;
    for path in files {
        let Ok(mesh) = load(&std::fs::read(&path).expect("file")) else {
            continue;
        };
        let analyses: Vec<_> = [1, 2, 3, 16]
            .into_iter()
            .map(|threads| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("pool");
                pool.install(|| analyze(&mesh))
            })
            .collect();
        for (analysis, threads) in analyses[1..].iter().zip([2, 3, 16]) {
            assert_eq!(
                analysis,
                &analyses[0],
                "{} on {threads} threads",
                path.display()
            );
        }
        compared += 1;
    }
    assert!(compared >= 12, "{compared} models compared");
}
