//! Supports under overhangs whose volume is known.

use pricing_engine::mesh::{Format, Mesh, Triangle};
use pricing_engine::support::{SupportSettings, supports};

use super::{cuboid, fixture, load, prism, relative};

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

/// `triangles` turned about the x axis by `degrees` and lifted 20 mm.
fn tilted(triangles: &[Triangle], degrees: f64) -> Vec<Triangle> {
    let (sin, cos) = degrees.to_radians().sin_cos();
    triangles
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
        .collect()
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
        let found = supports(&mesh(&tilted(&slab, degrees)), &SupportSettings::default());
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
    // leg is a 10 mm column down to the plate. The 2.3 mm pattern cells have a corner at the
    // part's centre (10, 10), so the cells the columns reach run from -1.5 to 21.5 in x and
    // y (10 x 10 cells, 46 x 46 grid points): their grid points hold 10 mm of support each
    // (those past the top's edge too, down to the plate), but for the corner cell from -1.5
    // to 0.8, which only the leg reaches (no column stands there): 5 x 5 points.
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
    let points = 46.0 * 46.0 - 25.0;
    assert!(
        relative(found.pattern_volume_mm3, points * 0.25 * 10.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_contact_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // The sides: the outline of a 23 mm square (the empty corner cell keeps the outline's
    // length), 10 mm tall.
    assert!(
        relative(found.pattern_side_area_mm2, 4.0 * 23.0 * 10.0) < 1e-6,
        "{found:?}"
    );
    // Half of them face along x: the square's left and right sides.
    assert!(
        relative(found.pattern_x_side_area_mm2, 2.0 * 23.0 * 10.0) < 1e-6,
        "{found:?}"
    );
    // Without an expansion, the first layer is the supports' own footprint.
    assert!(
        relative(found.first_layer_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // The skirt goes around the supports' first layer: the box of the grid cells standing on
    // the plate (the corner cell holds none, but the box is the same).
    let corner = found.first_layer_box_mm.expect("supports on the plate");
    for (got, want) in corner.iter().zip([-1.5, -1.5, 21.5, 21.5]) {
        assert!((got - want).abs() < 1e-9, "{corner:?}");
    }
    // Expanded by 1 mm (two grid cells, a disc), not into the leg's foot: counted cell by cell
    // here. Grid cells are numbered from x = -1.5 (cell 0 from -1.5 to -1.0); the supports
    // fill cells 0 to 45 but the corner's 0 to 4, and the leg stands on cells 3 and 4.
    let support = |i: i64, j: i64| (0..46).contains(&i) && (0..46).contains(&j) && (i > 4 || j > 4);
    let leg = |i: i64, j: i64| (3..5).contains(&i) && (3..5).contains(&j);
    let cells = (-3..49)
        .flat_map(|i| (-3..49).map(move |j| (i, j)))
        .filter(|&(i, j)| {
            !leg(i, j)
                && (-2i64..=2).any(|di| {
                    (-2i64..=2).any(|dj| di * di + dj * dj <= 4 && support(i + di, j + dj))
                })
        })
        .count();
    let expanded = supports(
        &mesh,
        &SupportSettings {
            first_layer_expansion_mm: 1.0,
            ..settings
        },
    );
    assert!(
        relative(expanded.first_layer_area_mm2, cells as f64 * 0.25) < 1e-9,
        "{expanded:?} vs {cells} cells"
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
    assert_eq!(plain.first_layer_box_mm, None);
    assert_eq!(plain.volume_mm3, found.volume_mm3);
}

#[test]
fn a_small_overhang_beside_a_wall_gets_a_cell_wide_support_down_to_the_plate() {
    // A 10 x 10 x 20 mm block with a 1 mm ledge along its wall at x = 10, 15 mm up. The
    // part's centre is (5.5, 5), so the 2.3 mm pattern cells have sides at x = 7.8, 10.1 and
    // 12.4, and at y = -1.9, 0.4, ..., 9.6 and 11.9. The columns under the ledge (x = 10.25
    // and 10.75, y from 0.25 to 9.75) reach the cells from x = 7.8 to 12.4 (the grid cell from
    // x = 10 to 10.5 overlaps two of them) and from y = -1.9 to 11.9: their grid points hold
    // support down to the plate where they are in the open: all 28 rows at x = 10.25 to 12.25,
    // and past the block's ends (y under 0 or over 10, 8 rows) x = 8.25 to 9.75; the points
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
    let points = 5.0 * 28.0 + 4.0 * 8.0;
    assert!(
        relative(found.pattern_volume_mm3, points * 0.25 * 15.0) < 1e-6,
        "{found:?}"
    );
    assert!(
        relative(found.pattern_contact_area_mm2, points * 0.25) < 1e-9,
        "{found:?}"
    );
    // A 4.5 x 14 mm rectangle with the block's end, 2 x 10 mm, notched out of one side: the
    // rectangle's outline and the notch's two 2 mm sides, 15 mm tall.
    assert!(
        relative(
            found.pattern_side_area_mm2,
            (2.0 * (4.5 + 14.0) + 4.0) * 15.0
        ) < 1e-6,
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

/// `triangles` turned inside out: a void when inside a solid.
fn inverted(triangles: Vec<Triangle>) -> Vec<Triangle> {
    triangles.into_iter().map(|[a, b, c]| [a, c, b]).collect()
}

#[test]
fn supports_keep_their_gap_from_the_walls_and_a_slot_narrower_than_two_gaps_holds_none() {
    // A 20 x 20 x 20 block with a closed slot inside it, 0.5 mm wide and 15 mm tall, from
    // z = 2 (as the thin voids that make inner walls in many printed parts): its ceiling
    // overhangs. Without a gap the slot's one row of grid points holds 15 mm of support; with
    // a 0.27 mm gap from each wall none fits. A slot 4 mm wide keeps its support but for two
    // strips 0.27 mm wide along its long walls (and its short ones, where the grid cells are).
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        ..SupportSettings::default()
    };
    let gap = SupportSettings {
        xy_gap_mm: 0.27,
        ..settings
    };
    for (width, kept) in [
        (0.5f32, 0.0),
        (4.0, (4.0 - 2.0 * 0.27) * (10.0 - 2.0 * 0.27)),
    ] {
        let mut triangles = cuboid([0.0, 0.0, 0.0], [20.0, 20.0, 20.0]);
        triangles.extend(inverted(cuboid([5.0, 5.0, 2.0], [width, 10.0, 15.0])));
        let mesh = mesh(&triangles);
        let open = supports(&mesh, &settings);
        let area = f64::from(width) * 10.0;
        assert!(
            relative(open.pattern_volume_mm3, area * 15.0) < 1e-6,
            "{width}: {open:?}"
        );
        let kept_off = supports(&mesh, &gap);
        assert!(
            (kept_off.pattern_volume_mm3 - kept * 15.0).abs() < 1e-6 * area * 15.0,
            "{width}: {kept_off:?} vs {}",
            kept * 15.0
        );
        assert!(
            (kept_off.pattern_contact_area_mm2 - kept).abs() < 1e-6 * area,
            "{width}: {kept_off:?}"
        );
    }
}

#[test]
fn the_pattern_is_laid_from_the_parts_centre_so_moving_the_part_moves_its_supports() {
    // The top on a leg, moved across the plate by amounts that are not multiples of the grid
    // or the pattern: the same supports (a pattern fixed to the plate's origin would cut the
    // part differently at each place).
    let mut part = cuboid([0.0, 0.0, 0.0], [1.0, 1.0, 10.0]);
    part.extend(cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 4.0]));
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        first_layer_expansion_mm: 1.0,
        ..SupportSettings::default()
    };
    let at = |dx: f32, dy: f32| {
        let moved: Vec<Triangle> = part
            .iter()
            .map(|t| t.map(|p| [p[0] + dx, p[1] + dy, p[2]]))
            .collect();
        supports(&mesh(&moved), &settings)
    };
    let here = at(0.0, 0.0);
    for (dx, dy) in [(1.0, 0.0), (0.5, 1.5), (-3.0, 7.0)] {
        let there = at(dx, dy);
        for (a, b) in [
            (here.pattern_volume_mm3, there.pattern_volume_mm3),
            (
                here.pattern_contact_area_mm2,
                there.pattern_contact_area_mm2,
            ),
            (here.pattern_side_area_mm2, there.pattern_side_area_mm2),
            (here.first_layer_area_mm2, there.first_layer_area_mm2),
        ] {
            assert!(
                relative(a, b) < 1e-9,
                "moved by {dx}, {dy}: {here:?} vs {there:?}"
            );
        }
    }
}

#[test]
fn a_contact_reaching_into_a_pattern_cell_holds_it_all() {
    // A slab on a 10 mm block, reaching past the block's wall at x = 10; two small blocks on
    // the plate at x = -20 and x = 40.8 hold the part's centre at x = 10.4, so the 2.3 mm
    // pattern's sides are at x = 8.1, 10.4 and 12.7 whatever the slab's reach. A slab edge at
    // 10.45 reaches into the cell from 10.4 to 12.7 (though the grid point under the slab, at
    // 10.25, is in the cell before: its grid cell, from 10 to 10.5, reaches across): the
    // slicer supports the whole cell, as for an edge at 12.2.
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        ..SupportSettings::default()
    };
    let with_reach = |reach: f32| {
        let mut triangles = cuboid([0.0, 0.0, 0.0], [10.0, 10.0, 10.0]);
        triangles.extend(cuboid([0.0, 0.0, 10.0], [10.0 + reach, 10.0, 2.0]));
        triangles.extend(cuboid([-20.0, 0.0, 0.0], [1.0, 1.0, 1.0]));
        triangles.extend(cuboid([39.8, 0.0, 0.0], [1.0, 1.0, 1.0]));
        supports(&mesh(&triangles), &settings)
    };
    let (near, far) = (with_reach(0.45), with_reach(2.2));
    // Past the wall: grid points x = 10.25 to 12.25 in the 28 rows of the cells the slab
    // reaches (y from -1.9 to 11.9, the pattern's sides at 5 + 2.3 k), and x = 8.25 to 9.75
    // in the 8 rows past the block's ends.
    assert!(
        relative(near.pattern_volume_mm3, far.pattern_volume_mm3) < 1e-9,
        "{near:?} vs {far:?}"
    );
    assert!(
        relative(
            near.pattern_contact_area_mm2,
            (5.0 * 28.0 + 4.0 * 8.0) * 0.25
        ) < 1e-9,
        "{near:?}"
    );
}

#[test]
fn only_shallow_overhangs_get_dense_interface_layers() {
    // A slab tilted about x: at 30 degrees each 0.2 mm layer reaches 0.35 mm past the one
    // below, more than 60% of a 0.45 mm extrusion (the process's interface angle, 36.5
    // degrees), so its support gets an interface; at 40 degrees (0.24 mm) only a body. Flat,
    // the interface is the whole top, 0.4 mm deep (two layers of 0.2 mm). Tilted, each
    // pattern cell holds contacts from the bottom of its slope to the top, and every support
    // gets the interface under each contact it passes (PrusaSlicer lays its interface on the
    // whole grid cell under each layer's contact): deeper than 0.4 mm, by at most the slope's
    // rise over a cell (2.3 mm x tan 30 degrees = 1.33 mm).
    let interface_angle_deg = (0.2f64 / (0.6 * 0.45)).atan().to_degrees();
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        interface_angle_deg,
        interface_depth_mm: 0.4,
        ..SupportSettings::default()
    };
    let slab = cuboid([0.0, 0.0, 0.0], [20.0, 20.0, 2.0]);
    for (degrees, depth) in [
        (0.0f64, Some([0.4, 0.4])),
        (30.0, Some([0.5, 1.73])),
        (40.0, None),
    ] {
        let mut triangles = tilted(&slab, degrees);
        triangles.extend(cuboid([-20.0, -20.0, 0.0], [1.0, 1.0, 1.0]));
        let found = supports(&mesh(&triangles), &settings);
        assert!(found.pattern_contact_area_mm2 > 0.0, "{degrees}: {found:?}");
        let mean_depth = found.pattern_interface_volume_mm3 / found.pattern_contact_area_mm2;
        match depth {
            Some([low, high]) => assert!(
                mean_depth >= low - 1e-9 && mean_depth <= high + 1e-9,
                "{degrees}: interface {mean_depth} deep, not {low} to {high}: {found:?}"
            ),
            None => assert_eq!(
                found.pattern_interface_volume_mm3, 0.0,
                "{degrees}: {found:?}"
            ),
        }
    }
}

#[test]
fn a_support_passing_a_lower_contact_gets_its_interface_too() {
    // A wall with a shelf sticking out at z = 10 and, beside and lower, a floating shelf at
    // z = 5, both within one 2.3 mm pattern cell along x (the part's centre at x = 2 puts the
    // cell's sides at 2 and 4.3). The support under the high shelf goes down to the plate
    // past the low shelf's height: it gets an interface there too, as PrusaSlicer's grid
    // support does under each layer's contact. Taken apart (the low shelf moved to another
    // cell), each shelf's supports get only their own.
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        interface_depth_mm: 0.4,
        ..SupportSettings::default()
    };
    let part = |low_shelf_x: f32| {
        let mut triangles = cuboid([0.0, 0.0, 0.0], [2.0, 10.0, 12.0]);
        triangles.extend(cuboid([2.0, 0.0, 10.0], [1.0, 10.0, 1.0]));
        triangles.extend(cuboid([low_shelf_x, 0.0, 5.0], [1.0, 10.0, 1.0]));
        // Hold the part's centre at x = 2.
        triangles.extend(cuboid([-20.0, 0.0, 0.0], [1.0, 1.0, 1.0]));
        triangles.extend(cuboid([23.0, 0.0, 0.0], [1.0, 1.0, 1.0]));
        supports(&mesh(&triangles), &settings)
    };
    let (together, apart) = (part(3.0), part(6.6));
    let depth = |s: &pricing_engine::support::Supports| {
        s.pattern_interface_volume_mm3 / s.pattern_contact_area_mm2
    };
    // Apart, every support has one contact above it: 0.4 mm of interface each.
    assert!((depth(&apart) - 0.4).abs() < 1e-9, "{apart:?}");
    // Together, the supports under the high shelf also pass the low one's contact: more than
    // one band on average, at most two.
    assert!(
        depth(&together) > 0.5 && depth(&together) <= 0.8 + 1e-9,
        "{together:?}"
    );
}

#[test]
fn a_support_stops_a_contact_gap_under_the_part_and_over_it() {
    // The slab over a block with a 2.3 mm pattern: the whole slab's cells hold support (the
    // block's corner at the part's centre, 10 from the slab's 20), 5 mm over the block and
    // 10 mm from the plate elsewhere. With a 0.2 mm contact gap the supports end 0.2 mm
    // under the slab, and those on the block start 0.2 mm over it.
    let mut triangles = cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 2.0]);
    triangles.extend(cuboid([0.0, 0.0, 0.0], [10.0, 10.0, 5.0]));
    let mesh = mesh(&triangles);
    let settings = SupportSettings {
        pattern_cell_mm: 2.3,
        min_gap_mm: 0.2,
        ..SupportSettings::default()
    };
    let touching = supports(&mesh, &settings);
    let apart = supports(
        &mesh,
        &SupportSettings {
            contact_gap_mm: 0.2,
            ..settings
        },
    );
    // The cells reach from -1.5 to 21.5 (46 x 46 grid points); the 20 x 20 over the block
    // stand on it.
    let (on_block, on_plate) = (20.0 * 20.0, 46.0 * 46.0 - 20.0 * 20.0);
    assert!(
        relative(
            touching.pattern_volume_mm3,
            (on_block * 5.0 + on_plate * 10.0) * 0.25
        ) < 1e-9,
        "{touching:?}"
    );
    assert!(
        relative(
            apart.pattern_volume_mm3,
            (on_block * 4.6 + on_plate * 9.8) * 0.25
        ) < 1e-9,
        "{apart:?}"
    );
}

#[test]
fn a_contact_under_a_slope_reaches_a_layers_step_not_a_grid_cell() {
    // A block whose side at x = 10.39 has a 45-degree chamfer 1 mm tall at its foot, with the
    // part's centre held at x = 10.4 (small blocks at x = -20 and 40.8): a pattern side lies
    // 0.01 mm past the block's side. The chamfer's contacts (one layer's step, 0.2 mm, wide,
    // as the slicer's contact strips are) stay in the cell before it: only the grid points
    // of that cell in the open hold support (x = 10.25 beside the block, and x = 8.25 to
    // 10.25 past its ends, y under 0 or over 10), none in the next cell, which the grid cell
    // around the contact at x = 10.25 (from 10 to 10.5) would reach.
    let mut triangles = prism(
        &[
            [0.0, 0.0],
            [9.39, 0.0],
            [10.39, 1.0],
            [10.39, 10.0],
            [0.0, 10.0],
        ],
        10.0,
    );
    triangles.extend(cuboid([-20.0, 0.0, 0.0], [1.0, 1.0, 1.0]));
    triangles.extend(cuboid([39.8, 0.0, 0.0], [1.0, 1.0, 1.0]));
    let mesh = mesh(&triangles);
    assert!(
        pricing_engine::analyze(&mesh).volume_mm3 > 0.0,
        "faces look out"
    );
    let found = supports(
        &mesh,
        &SupportSettings {
            // Inclusive at 45 degrees, as the FDM process asks.
            overhang_angle_deg: 46.0,
            pattern_cell_mm: 2.3,
            min_gap_mm: 0.2,
            ..SupportSettings::default()
        },
    );
    assert!(
        relative(found.pattern_contact_area_mm2, (20.0 + 8.0 * 5.0) * 0.25) < 1e-9,
        "{found:?}"
    );
}
