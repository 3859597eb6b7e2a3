//! Supports under overhangs whose volume is known.

use pricing_engine::mesh::{Format, Mesh, Triangle};
use pricing_engine::support::{SupportSettings, supports};

use super::{cuboid, fixture, load, relative};

fn mesh(triangles: &[Triangle]) -> Mesh {
    Mesh::from_triangles(triangles, Format::BinaryStl).expect("welds")
}

#[test]
fn a_slab_over_a_block_needs_the_space_between() {
    // A 20 x 20 x 2 slab at z = 10, and under a quarter of it a block 5 mm tall on the plate:
    // columns of 5 mm over the block and of 10 mm elsewhere.
    let mut triangles = cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 2.0]);
    triangles.extend(cuboid([0.0, 0.0, 0.0], [10.0, 10.0, 5.0]));
    let found = supports(&mesh(&triangles), &SupportSettings::default());
    assert_eq!(
        found.n_overhanging_faces, 2,
        "the slab's underside only: {found:?}"
    );
    assert_eq!(found.n_columns, 1600, "{found:?}");
    assert!(
        (found.volume_mm3 - (100.0 * 5.0 + 300.0 * 10.0)).abs() < 1e-2,
        "{found:?}"
    );
    assert!((found.contact_area_mm2 - 400.0).abs() < 1e-9, "{found:?}");
}

#[test]
fn a_part_on_the_plate_needs_none() {
    let found = supports(
        &load(&fixture("cube_10mm.stl")).expect("fixture"),
        &SupportSettings::default(),
    );
    assert_eq!(
        (
            found.n_overhanging_faces,
            found.n_columns,
            found.volume_mm3,
            found.contact_area_mm2
        ),
        (0, 0, 0.0, 0.0)
    );
}

#[test]
fn the_threshold_is_the_slope_from_horizontal() {
    // The slab tilted about x by 40 degrees: its underside slopes 40 degrees (an overhang at the
    // 45-degree threshold) and its lower end 50 (not). Tilted by 50, the other way round.
    let slab = cuboid([0.0, 0.0, 0.0], [20.0, 20.0, 2.0]);
    for (degrees, area) in [
        (40.0f64, 400.0 * 40f64.to_radians().cos()),
        (50.0, 40.0 * 50f64.to_radians().sin()),
    ] {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let tilted: Vec<Triangle> = slab
            .iter()
            .map(|t| {
                t.map(|p| {
                    let (y, z) = (f64::from(p[1]), f64::from(p[2]));
                    [
                        p[0],
                        (y * cos - z * sin) as f32,
                        (y * sin + z * cos + 20.0) as f32,
                    ]
                })
            })
            .collect();
        let found = supports(&mesh(&tilted), &SupportSettings::default());
        assert_eq!(found.n_overhanging_faces, 2, "{degrees} degrees: {found:?}");
        assert!(
            (found.contact_area_mm2 - area).abs() < 1e-3,
            "{degrees} degrees: {found:?} vs {area}"
        );
        assert!(found.volume_mm3 > 0.0);
    }
}

#[test]
fn supports_grow_to_whole_pattern_cells() {
    // A 20 x 20 x 4 mm top on a 1 x 1 mm leg in its corner: everything under the top but the
    // leg is a 10 mm column down to the plate. With 2.3 mm pattern cells, the columns fill 9 x 9
    // cells, each with one span from the plate to the top.
    let mut triangles = cuboid([0.0, 0.0, 0.0], [1.0, 1.0, 10.0]);
    triangles.extend(cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 4.0]));
    let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("mesh");
    let cell = 2.3;
    let found = supports(
        &mesh,
        &SupportSettings {
            pattern_cell_mm: cell,
            ..SupportSettings::default()
        },
    );
    assert!(
        relative(found.volume_mm3, (400.0 - 1.0) * 10.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_volume_mm3, 81.0 * cell * cell * 10.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_contact_area_mm2, 81.0 * cell * cell) < 1e-9,
        "{found:?}"
    );
    // No pattern, no growth.
    let plain = supports(&mesh, &SupportSettings::default());
    assert_eq!(plain.pattern_volume_mm3, 0.0);
    assert_eq!(plain.volume_mm3, found.volume_mm3);
}

#[test]
fn an_absurdly_large_part_gets_a_coarser_grid_not_an_unbounded_one() {
    // A slab up to a hundred kilometres long, 50 mm wide, 10 mm over the plate: the grid
    // coarsens (by powers of two) until it fits in memory, and the volume stays what a grid
    // that coarse can see of the space under the slab: within a factor of two.
    for length in [1e5f32, 1e8] {
        let mut triangles = cuboid([0.0, 0.0, 10.0], [length, 50.0, 2.0]);
        triangles.extend(cuboid([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]));
        let found = supports(&mesh(&triangles), &SupportSettings::default());
        let under = f64::from(length) * 50.0 * 10.0;
        assert!(
            found.volume_mm3 > under / 2.0 && found.volume_mm3 < under * 2.0,
            "{length}: {found:?}"
        );
        assert_eq!(found.n_overhanging_faces, 2, "{found:?}");
    }
}

#[test]
fn an_overhang_smaller_than_the_grid_is_still_held_up() {
    // A 0.3 x 0.3 mm ledge 10 mm over the plate, between the 0.5 mm grid's points (which sit
    // at 0.25 and 0.75): columns of its own area (one per cell its two triangles' centroids
    // fall in), down to the plate.
    let mut triangles = cuboid([0.3, 0.3, 10.0], [0.3, 0.3, 0.2]);
    triangles.extend(cuboid([5.0, 5.0, 0.0], [1.0, 1.0, 1.0]));
    let found = supports(&mesh(&triangles), &SupportSettings::default());
    assert_eq!(found.n_columns, 2, "{found:?}");
    assert!(relative(found.volume_mm3, 0.09 * 10.0) < 1e-4, "{found:?}");
    assert!(relative(found.contact_area_mm2, 0.09) < 1e-4, "{found:?}");
}
