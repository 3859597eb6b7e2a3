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
fn supports_grow_to_whole_pattern_cells_trimmed_by_the_part() {
    // A 20 x 20 x 4 mm top on a 1 x 1 mm leg in its corner: everything under the top but the
    // leg is a 10 mm column down to the plate. With 2.3 mm pattern cells the columns touch
    // 9 x 9 cells (x and y from 0 to 20.7): the 41 x 41 grid points of those cells hold 10 mm
    // of support each (those past the top's edge too, down to the plate), but for the 2 x 2
    // inside the leg.
    let mut triangles = cuboid([0.0, 0.0, 0.0], [1.0, 1.0, 10.0]);
    triangles.extend(cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 4.0]));
    let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("mesh");
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        ..SupportSettings::default()
    };
    let found = supports(&mesh, &settings);
    assert!(
        relative(found.volume_mm3, (400.0 - 1.0) * 10.0) < 1e-6,
        "{found:?}"
    );
    let points = 41.0 * 41.0 - 4.0;
    assert!(
        relative(found.pattern_volume_mm3, points * 0.25 * 10.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_contact_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // The sides: the outline of a 20.5 mm square (the leg's notch in its corner keeps the
    // outline's length), 10 mm tall.
    assert!(
        relative(found.pattern_side_area_mm2, 4.0 * 20.5 * 10.0) < 1e-6,
        "{found:?}"
    );
    // Without an expansion, the first layer is the supports' own footprint.
    assert!(
        relative(found.first_layer_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // Expanded by 1 mm (two grid cells, a disc): two more rows of cells on each side and one
    // at each corner; not into the leg's foot, and not to the 7 cells beyond the leg's corner
    // that only the leg (not a support) is near enough to reach.
    let expanded = supports(
        &mesh,
        &SupportSettings {
            first_layer_expansion_mm: 1.0,
            ..settings
        },
    );
    assert!(
        relative(
            expanded.first_layer_area_mm2,
            (41.0 * 41.0 + 4.0 * 2.0 * 41.0 + 4.0 - 4.0 - 7.0) * 0.25
        ) < 1e-9,
        "{expanded:?}"
    );
    assert_eq!(expanded.pattern_volume_mm3, found.pattern_volume_mm3);
    // No pattern, no growth.
    let plain = supports(&mesh, &SupportSettings::default());
    assert_eq!(
        (
            plain.pattern_volume_mm3,
            plain.pattern_side_area_mm2,
            plain.first_layer_area_mm2
        ),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(plain.volume_mm3, found.volume_mm3);
}

#[test]
fn a_small_overhang_beside_a_wall_gets_a_cell_wide_support_down_to_the_plate() {
    // A 10 x 10 x 20 mm block with a 1 mm ledge along its wall at x = 10, 15 mm up. The
    // columns under the ledge are x = 10.25 and 10.75; its pattern cell (x from 9.2 to 11.5,
    // y from 0 to 11.5) also holds x = 11.25 beyond the ledge, and x = 9.25 and 9.75 past the
    // block's end (y over 10), all in the open down to the plate; the points of the cell
    // inside the block hold none (the slicer trims supports by the part).
    let mut triangles = cuboid([0.0, 0.0, 0.0], [10.0, 10.0, 20.0]);
    triangles.extend(cuboid([10.0, 0.0, 15.0], [1.0, 10.0, 1.0]));
    let found = supports(
        &mesh(&triangles),
        &SupportSettings {
            pattern_cell_mm: 2.3,
            ..SupportSettings::default()
        },
    );
    assert!(
        relative(found.volume_mm3, 40.0 * 0.25 * 15.0) < 1e-6,
        "{found:?}"
    );
    let points = 3.0 * 23.0 + 2.0 * 3.0;
    assert!(
        relative(found.pattern_volume_mm3, points * 0.25 * 15.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_contact_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // An L of cells 5 wide and 23 tall: the outline of its bounding box, 15 mm tall.
    assert!(
        relative(found.pattern_side_area_mm2, 2.0 * (2.5 + 11.5) * 15.0) < 1e-6,
        "{found:?}"
    );
}

#[test]
fn a_gap_thinner_than_a_layer_holds_no_support() {
    // A slab 0.1 mm over a block: the column under it is real space, but no slicer layer
    // sees it, so with a 0.2 mm layer it holds no support (as with the not quite flat
    // bottoms and bodies a hair apart of real files).
    let mut triangles = cuboid([0.0, 0.0, 0.0], [20.0, 20.0, 10.0]);
    triangles.extend(cuboid([0.0, 0.0, 10.1], [20.0, 20.0, 2.0]));
    let mesh = mesh(&triangles);
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        first_layer_expansion_mm: 3.0,
        ..SupportSettings::default()
    };
    let seen = supports(&mesh, &settings);
    assert!(relative(seen.volume_mm3, 400.0 * 0.1) < 1e-4, "{seen:?}");
    assert!(seen.pattern_volume_mm3 > 0.0, "{seen:?}");
    let layered = supports(
        &mesh,
        &SupportSettings {
            min_gap_mm: 0.2,
            ..settings
        },
    );
    assert_eq!(
        (
            layered.pattern_volume_mm3,
            layered.pattern_contact_area_mm2,
            layered.pattern_side_area_mm2,
            layered.first_layer_area_mm2
        ),
        (0.0, 0.0, 0.0, 0.0),
        "{layered:?}"
    );
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

#[test]
fn a_small_overhang_is_measured_under_itself_not_under_its_cell_centre() {
    // A 0.15 x 0.3 mm ledge on the wall of a block, 5 mm up: no grid point is under it, and
    // the centre of the cell its centroid falls in (x = 10.25) is inside the block. Its column
    // goes down from its own centroid, to the plate.
    let mut triangles = cuboid([0.0, 0.0, 0.0], [10.3, 10.0, 10.0]);
    triangles.extend(cuboid([10.3, 5.1, 5.0], [0.15, 0.3, 0.2]));
    let found = supports(&mesh(&triangles), &SupportSettings::default());
    assert!(relative(found.volume_mm3, 0.045 * 5.0) < 1e-4, "{found:?}");
}

#[test]
fn an_overhang_lower_than_the_first_layer_and_the_contact_gap_is_not_supported() {
    // A slab on a leg, its underside 0.3 mm and then 0.5 mm over the plate: a slicer puts the
    // support's top a contact gap (0.2 mm) under the part, and no support layer lies below the
    // first (0.2 mm), so the lower one is left unsupported (PrusaSlicer: "below the first layer
    // height, not printable").
    for (gap, supported) in [(0.3f32, false), (0.5, true)] {
        let mut triangles = cuboid([0.0, 0.0, 0.0], [1.0, 1.0, gap]);
        triangles.extend(cuboid([0.0, 0.0, gap], [10.0, 10.0, 2.0]));
        let found = supports(
            &mesh(&triangles),
            &SupportSettings {
                pattern_cell_mm: 2.3,
                min_gap_mm: 0.2,
                min_plate_gap_mm: 0.4,
                first_layer_expansion_mm: 3.0,
                ..SupportSettings::default()
            },
        );
        assert!(found.volume_mm3 > 0.0, "{gap}: {found:?}");
        assert_eq!(
            found.pattern_volume_mm3 > 0.0,
            supported,
            "{gap}: {found:?}"
        );
        assert_eq!(
            found.first_layer_area_mm2 > 0.0,
            supported,
            "{gap}: {found:?}"
        );
    }
}
