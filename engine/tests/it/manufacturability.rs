//! Thin walls on parts whose wall thickness is known.

use pricing_engine::manufacturability::thin_walls;
use pricing_engine::mesh::{Format, Mesh};

use super::{cuboid, fixture, load};

#[test]
fn a_thin_plate_is_found_where_it_is() {
    // 20 x 10 mm, 0.5 mm thick: its two large faces (four triangles, 400 mm2) are thin.
    let plate = Mesh::from_triangles(
        &cuboid([0.0, 0.0, 3.0], [20.0, 10.0, 0.5]),
        Format::BinaryStl,
    )
    .expect("plate");
    let walls = thin_walls(&plate, 0.8);
    assert_eq!(walls.n_faces, 4, "{walls:?}");
    assert!((walls.area_mm2 - 400.0).abs() < 1e-6, "{walls:?}");
    let thinnest = walls.thinnest.expect("a thin spot");
    assert!((thinnest.thickness_mm - 0.5).abs() < 1e-5, "{thinnest:?}");
    assert!(
        thinnest.at_mm[2] == 3.0 || thinnest.at_mm[2] == 3.5,
        "{thinnest:?}"
    );
    // The same plate against a minimum below its thickness: nothing.
    assert_eq!(thin_walls(&plate, 0.4).n_faces, 0);
}

#[test]
fn walls_around_a_void_have_their_thickness() {
    // The 20 mm box with a centred 10 mm void: every wall is 5 mm thick, seen from outside and
    // from the void alike.
    let mesh = load(&fixture("box_with_void.stl")).expect("fixture");
    let walls = thin_walls(&mesh, 6.0);
    assert_eq!(walls.n_faces, 24, "{walls:?}");
    assert!((walls.area_mm2 - 3000.0).abs() < 1e-6, "{walls:?}");
    assert!((walls.thinnest.expect("thin").thickness_mm - 5.0).abs() < 1e-5);
    assert_eq!(thin_walls(&mesh, 4.0).n_faces, 0);
}

#[test]
fn a_solid_cube_has_no_thin_wall() {
    let walls = thin_walls(&load(&fixture("cube_10mm.stl")).expect("fixture"), 0.8);
    assert_eq!((walls.n_faces, walls.thinnest), (0, None));
}

#[test]
fn parts_are_fitted_to_the_build_volume() {
    use pricing_engine::manufacturability::{Fit, fit};
    let machine = [250.0, 210.0, 210.0];
    let bar = |size: [f32; 3]| {
        Mesh::from_triangles(&cuboid([0.0; 3], size), Format::BinaryStl).expect("bar")
    };
    assert_eq!(
        fit(&bar([240.0, 20.0, 20.0]), machine),
        Fit::Fits { turned_deg: 0.0 }
    );
    // 280 mm long: 280 cos t + 20 sin t <= 250 first holds at t = 32 degrees (31 gives 250.3),
    // where the other side is 280 sin 32 + 20 cos 32 = 165.3 <= 210.
    assert_eq!(
        fit(&bar([280.0, 20.0, 20.0]), machine),
        Fit::Fits { turned_deg: 32.0 }
    );
    // A 250 mm tower is too tall for 210 mm, but fits lying along x.
    match fit(&bar([20.0, 20.0, 250.0]), machine) {
        Fit::FitsReoriented {
            candidate,
            turned_deg,
        } => {
            assert!(candidate.down[2].abs() < 1e-9, "lying down: {candidate:?}");
            assert_eq!(turned_deg, 0.0);
        }
        other => panic!("{other:?}"),
    }
    // 330 mm fits no way: even diagonally on the plate 330 sin t + 20 cos t exceeds 210.
    match fit(&bar([330.0, 20.0, 20.0]), machine) {
        Fit::TooLarge {
            size_mm,
            build_volume_mm,
        } => {
            assert_eq!(size_mm, [330.0, 20.0, 20.0]);
            assert_eq!(build_volume_mm, machine);
        }
        other => panic!("{other:?}"),
    }
}
