//! Orientation candidates and the rotations that stand a part on them.

use pricing_engine::analyze;
use pricing_engine::mesh::{Format, Mesh};
use pricing_engine::orientation::{Source, candidates, orient, rotation_to_down};

use super::{cuboid, fixture, gridded_box, load, relative};

#[test]
fn a_cube_has_six_ways_to_stand() {
    let cube = load(&fixture("cube_10mm.stl")).expect("fixture");
    let found = candidates(&cube);
    assert_eq!(found.len(), 6, "{found:?}");
    assert_eq!(found[0].source, Source::File);
    for candidate in &found {
        let axis_aligned = candidate
            .down
            .iter()
            .filter(|v| (v.abs() - 1.0).abs() < 1e-9)
            .count()
            == 1;
        assert!(axis_aligned, "{candidate:?}");
    }
}

#[test]
fn a_standing_slab_can_be_laid_flat() {
    let slab = Mesh::from_triangles(&cuboid([0.0; 3], [2.0, 10.0, 20.0]), Format::BinaryStl)
        .expect("slab");
    let flat = candidates(&slab)
        .into_iter()
        .find(|c| (c.down[0].abs() - 1.0).abs() < 1e-9)
        .expect("a side down");
    let laid = orient(&slab, &flat);
    let analysis = analyze(&laid);
    assert!(
        (analysis.size_mm()[2] - 2.0).abs() < 1e-5,
        "{:?}",
        analysis.size_mm()
    );
    assert!(
        relative(analysis.volume_mm3, 400.0) < 1e-6,
        "{}",
        analysis.volume_mm3
    );
}

#[test]
fn rotations_send_down_to_minus_z() {
    let directions: [[f64; 3]; 6] = [
        [0.0, 0.0, -1.0],
        [0.0, 0.0, 1.0],
        [1.0, 0.0, 0.0],
        [0.6, 0.0, 0.8],
        [-0.48, 0.6, -0.64],
        [0.0, -1.0, 1e-9],
    ];
    for d in directions {
        let length = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
        let d = d.map(|v| v / length);
        let r = rotation_to_down(d);
        let turned: Vec<f64> = (0..3)
            .map(|i| r[i][0] * d[0] + r[i][1] * d[1] + r[i][2] * d[2])
            .collect();
        assert!(
            (turned[0]).abs() < 1e-9 && turned[1].abs() < 1e-9 && (turned[2] + 1.0).abs() < 1e-9,
            "{d:?} -> {turned:?}"
        );
        for i in 0..3 {
            for j in 0..3 {
                let dot: f64 = (0..3).map(|k| r[k][i] * r[k][j]).sum();
                assert!(
                    (dot - f64::from(u8::from(i == j))).abs() < 1e-9,
                    "not orthonormal for {d:?}"
                );
            }
        }
        let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
            - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
            + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
        assert!((det - 1.0).abs() < 1e-9, "a reflection for {d:?}");
    }
}

#[test]
fn hull_candidates_put_a_face_flat_on_the_plate() {
    // A tetrahedron: every face is a hull face, so every hull candidate stands it on one.
    let (a, b, c, d) = (
        [0.0f32, 0.0, 0.0],
        [10.0, 0.0, 0.0],
        [0.0, 10.0, 0.0],
        [0.0, 0.0, 10.0],
    );
    let tetra = Mesh::from_triangles(
        &[[a, c, b], [a, b, d], [a, d, c], [b, c, d]],
        Format::BinaryStl,
    )
    .expect("tetra");
    let hull: Vec<_> = candidates(&tetra)
        .into_iter()
        .filter(|c| c.source == Source::HullFace)
        .collect();
    // The file's orientation already rests on the face z = 0, so three hull faces remain.
    assert_eq!(hull.len(), 3, "{hull:?}");
    for candidate in hull {
        let stood = orient(&tetra, &candidate);
        let mut z: Vec<f32> = stood.positions().iter().map(|p| p[2]).collect();
        z.sort_by(f32::total_cmp);
        assert!(z[2] - z[0] < 1e-4, "three corners on the plate: {z:?}");
        assert!(relative(analyze(&stood).volume_mm3, 1000.0 / 6.0) < 1e-6);
    }
}

/// A mesh large enough that the hull is built from extreme points: a slab whose faces are
/// divided into a fine grid still offers its large faces as hull candidates.
#[test]
fn large_meshes_still_find_their_hull_faces() {
    let slab = gridded_box([2.0, 10.0, 20.0], 40);
    assert!(
        slab.positions().len() > 4096,
        "{} vertices",
        slab.positions().len()
    );
    let analysis = analyze(&slab);
    assert!(analysis.watertight && relative(analysis.volume_mm3, 400.0) < 1e-6);
    let hull: Vec<_> = candidates(&slab)
        .into_iter()
        .filter(|c| c.source == Source::HullFace)
        .collect();
    let sideways = hull
        .iter()
        .filter(|c| (c.down[0].abs() - 1.0).abs() < 1e-6)
        .count();
    assert_eq!(sideways, 2, "both large faces: {hull:?}");
}
