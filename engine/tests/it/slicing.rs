//! Layers cut from models with known cross-sections.

use pricing_engine::analyze;
use pricing_engine::slicing::{LayerPlan, Slices, slice};

use pricing_engine::mesh::{Format, Mesh};

use super::{cuboid, fixture, load, relative, shared_models};

/// Every layer of `triangles` as (mid-height, area, contour), in 0.2 mm layers over a first
/// of 0.25 mm, so that no cutting plane meets a face at a whole millimetre.
fn layers_of(triangles: &[[[f32; 3]; 3]]) -> Vec<(f64, f64, f64)> {
    let mesh = Mesh::from_triangles(triangles, Format::BinaryStl).expect("mesh");
    let plan = LayerPlan::new(0.25, 0.2).expect("valid");
    slice(&mesh, &plan)
        .layers
        .iter()
        .map(|l| (l.top_mm - l.height_mm / 2.0, l.area_mm2, l.contour_mm))
        .collect()
}

#[test]
fn overlapping_shells_print_as_their_union() {
    // A 10 mm cube with an 8 mm high bar pushed 5 mm into its side ([5, 15] x [2, 8]), and a
    // small cube buried inside it: below 8 mm the union is the square and the bar's 5 x 6 mm
    // outside it (130 mm2, outline 50 mm), above it the square alone.
    let mut triangles = cuboid([0.0; 3], [10.0; 3]);
    triangles.extend(cuboid([5.0, 2.0, 0.0], [10.0, 6.0, 8.0]));
    triangles.extend(cuboid([2.0, 2.0, 2.0], [3.0, 3.0, 3.0]));
    let layers = layers_of(&triangles);
    assert_eq!(layers.len(), 50);
    for (mid, area, contour) in layers {
        let (want_area, want_contour) = if mid < 8.0 {
            (130.0, 50.0)
        } else {
            (100.0, 40.0)
        };
        assert!(
            (area - want_area).abs() < 1e-9 && (contour - want_contour).abs() < 1e-9,
            "at {mid}: {area} mm2, {contour} mm"
        );
    }
    // Shells apart keep both outlines.
    let mut apart = cuboid([0.0; 3], [10.0; 3]);
    apart.extend(cuboid([20.0, 0.0, 0.0], [10.0; 3]));
    for (mid, area, contour) in layers_of(&apart) {
        assert!(
            (area - 200.0).abs() < 1e-9 && (contour - 80.0).abs() < 1e-9,
            "at {mid}: {area} mm2, {contour} mm"
        );
    }
}

#[test]
fn open_contours_are_closed_over_small_gaps_and_dropped_otherwise() {
    // A box without its side at y = 0 (the cuboid's third quad) cuts into a U-shaped chain.
    let without_front = |size: [f32; 3]| -> Vec<[[f32; 3]; 3]> {
        let mut triangles = cuboid([0.0; 3], size);
        triangles.drain(4..6);
        triangles
    };
    // 1.5 mm wide: the slicer closes the 1.5 mm gap, the section is whole.
    for (mid, area, contour) in layers_of(&without_front([1.5, 10.0, 5.0])) {
        assert!(
            (area - 15.0).abs() < 1e-9 && (contour - 23.0).abs() < 1e-9,
            "at {mid}: {area} mm2, {contour} mm"
        );
    }
    // 10 mm wide: a 10 mm gap is no slip of the mesh but a missing wall; nothing prints.
    for (mid, area, contour) in layers_of(&without_front([10.0, 10.0, 5.0])) {
        assert!(
            area.abs() < 1e-9 && contour.abs() < 1e-9,
            "at {mid}: {area} mm2, {contour} mm"
        );
    }
    // Beside a closed part, an open chain is dropped and the part stays whole.
    let mut triangles = without_front([10.0, 10.0, 5.0]);
    triangles.extend(cuboid([20.0, 0.0, 0.0], [4.0, 4.0, 5.0]));
    for (mid, area, contour) in layers_of(&triangles) {
        assert!(
            (area - 16.0).abs() < 1e-9 && (contour - 16.0).abs() < 1e-9,
            "at {mid}: {area} mm2, {contour} mm"
        );
    }
}

fn sliced(name: &str, plan: &LayerPlan) -> Slices {
    slice(&load(&fixture(name)).expect("fixture"), plan)
}

fn plan() -> LayerPlan {
    LayerPlan::new(0.2, 0.2).expect("valid")
}

#[test]
fn cube_layers_are_exact() {
    let slices = sliced("cube_10mm.stl", &plan());
    assert_eq!(slices.layers.len(), 50);
    for layer in &slices.layers {
        assert!((layer.area_mm2 - 100.0).abs() < 1e-9, "{layer:?}");
        assert!((layer.contour_mm - 40.0).abs() < 1e-9, "{layer:?}");
        // Four right-angle corners; the diagonals of the side faces are no corners.
        assert_eq!(layer.corner_turns, [0, 0, 0, 0, 4, 0, 0, 0, 0], "{layer:?}");
    }
    assert!((slices.layers[49].top_mm - 10.0).abs() < 1e-9);
    // An inside-out part has negative area.
    let inverted = sliced("inside_out_cube.stl", &plan());
    assert!(
        inverted
            .layers
            .iter()
            .all(|layer| (layer.area_mm2 + 100.0).abs() < 1e-9)
    );
}

#[test]
fn holes_subtract_and_count_in_the_contour() {
    // 20 mm box with a 10 mm void from z = 5 to 15; a first layer of 0.25 mm puts every
    // cutting plane off the faces (at x.x5 mm).
    let plan = LayerPlan::new(0.25, 0.2).expect("valid");
    let slices = sliced("box_with_void.stl", &plan);
    assert_eq!(slices.layers.len(), 100);
    for layer in &slices.layers {
        let mid = layer.top_mm - layer.height_mm / 2.0;
        let (area, contour) = if (5.0..15.0).contains(&mid) {
            (300.0, 120.0)
        } else {
            (400.0, 80.0)
        };
        assert!(
            (layer.area_mm2 - area).abs() < 1e-9 && (layer.contour_mm - contour).abs() < 1e-9,
            "{layer:?}"
        );
    }
    // 100 layers reach 20.05 mm: the last layer prints 0.05 mm above the part.
    let top = slices.layers[99].top_mm;
    assert!((top - 20.05).abs() < 1e-9, "{top}");
    assert!(
        (slices.layered_volume_mm3() - (7000.0 + 400.0 * 0.05)).abs() < 1e-6,
        "{}",
        slices.layered_volume_mm3()
    );
}

/// The first layer's convex hull, what a slicer's skirt goes around: two boxes apart make one
/// 40 x 10 mm outline (their contours add up to 80 mm).
#[test]
fn the_first_layer_hull_is_what_a_skirt_goes_around() {
    use pricing_engine::slicing::perimeter;
    let mut triangles = cuboid([0.0, 0.0, 0.0], [10.0, 10.0, 10.0]);
    triangles.extend(cuboid([30.0, 0.0, 0.0], [10.0, 10.0, 10.0]));
    let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("mesh");
    let hull = slice(&mesh, &plan()).first_layer_hull;
    assert_eq!(hull.len(), 4, "{hull:?}");
    assert!((perimeter(&hull) - 100.0).abs() < 1e-9, "{hull:?}");
}

#[test]
fn layered_volume_approaches_the_volume() {
    // The midpoint rule over the height: the error of a sphere of radius 10 in 0.2 mm layers is
    // about h^2/24 * 2 pi * 20 = 0.2 mm3 of 4189 (5e-5); allow 1e-3 for the polyhedron.
    for name in [
        "uv_sphere_r10.stl",
        "torus_r20_r5.stl",
        "two_cubes_apart.stl",
    ] {
        let mesh = load(&fixture(name)).expect("fixture");
        let layered = slice(&mesh, &plan()).layered_volume_mm3();
        let volume = analyze(&mesh).volume_mm3;
        assert!(
            relative(layered, volume) < 1e-3,
            "{name}: layered {layered} vs {volume}"
        );
    }
}

#[test]
fn real_parts_layer_to_their_volume() {
    let Some(models) = shared_models() else {
        return;
    };
    for name in [
        "voron2__Voron_Design_Cube_v7.stl",
        "prusai3__extruder-body.stl",
        "trimesh__20mm-xyz-cube.stl",
    ] {
        let mesh = load(&std::fs::read(models.join(name)).expect("model")).expect("parses");
        let layered = slice(&mesh, &plan()).layered_volume_mm3();
        let volume = analyze(&mesh).volume_mm3;
        // Real parts have vertical walls and flat tops at arbitrary heights: a layer cut in the
        // middle can miss or count a thin feature, so 1% here.
        assert!(
            relative(layered, volume) < 1e-2,
            "{name}: layered {layered} vs {volume}"
        );
    }
}

/// A plane exactly through a ring of vertices must still cut the part once (the torus's ring at
/// z = 2.5 lies on the cutting plane of layer 37 in 0.2 mm layers; that layer came out empty
/// when the layer range and the crossing rule disagreed about the boundary).
#[test]
fn a_plane_through_vertices_is_cut_once() {
    let slices = sliced("torus_r20_r5.stl", &plan());
    let layer = slices.layers[37];
    assert!(
        (layer.top_mm - layer.height_mm / 2.0 - 7.5).abs() < 1e-9,
        "{layer:?}"
    );
    // The exact cross-section of the polyhedron there: rings of radius 20 -+ 5 cos 30 deg, as
    // 48-gons.
    let factor = 48.0 / std::f64::consts::TAU * (std::f64::consts::TAU / 48.0).sin();
    let (inner, outer) = (
        20.0 - 5.0 * 30f64.to_radians().cos(),
        20.0 + 5.0 * 30f64.to_radians().cos(),
    );
    let exact = factor * std::f64::consts::PI * (outer * outer - inner * inner);
    assert!(
        relative(layer.area_mm2, exact) < 1e-5,
        "{layer:?} vs {exact}"
    );
}

#[test]
fn slices_do_not_depend_on_the_number_of_threads() {
    let mesh = load(&fixture("torus_r20_r5.stl")).expect("fixture");
    let reference = slice(&mesh, &plan());
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        assert_eq!(
            pool.install(|| slice(&mesh, &plan())),
            reference,
            "{threads} threads"
        );
    }
}

/// A triangle soup (no two faces share a corner: every edge is open) slices as the welded part
/// does: its contour pieces are joined over their hair-wide gaps into the same loops.
#[test]
fn a_triangle_soup_slices_as_the_welded_part() {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    let welded = super::gridded_box([12.0, 8.0, 6.0], 6);
    let mut rng = StdRng::seed_from_u64(7);
    let soup: Vec<[[f32; 3]; 3]> = (0..welded.triangles().len())
        .map(|face| {
            let shift: [f32; 3] = std::array::from_fn(|_| rng.random_range(-1e-4..1e-4));
            welded
                .corners(face)
                .map(|p| std::array::from_fn(|i| p[i] + shift[i]))
        })
        .collect();
    let soup = Mesh::from_triangles(&soup, Format::BinaryStl).expect("soup");
    assert_eq!(soup.triangles().len(), welded.triangles().len());
    let plan = LayerPlan::new(0.25, 0.2).expect("valid");
    let (a, b) = (slice(&welded, &plan), slice(&soup, &plan));
    assert_eq!(a.layers.len(), b.layers.len());
    for (x, y) in a.layers.iter().zip(&b.layers) {
        assert!(
            (x.area_mm2 - y.area_mm2).abs() < 0.05 && (x.contour_mm - y.contour_mm).abs() < 0.05,
            "{x:?} vs {y:?}"
        );
    }
}

/// A sloping wall moves a known step per layer: its height over its slope's tangent. The band
/// it sweeps per layer is that step times its length in the contour; vertical walls sweep
/// nothing; walls that move at least the plan's wide step count apart.
#[test]
fn sloping_walls_sweep_their_step_per_layer() {
    // A 20 mm long prism whose section (x, z) has a vertical side at x = 0 and a side that
    // slopes in by 5 mm over 10 mm of height (its tangent 2, so 0.1 mm of step per 0.2 mm
    // layer), 20 mm long in y: the end caps and the vertical side are vertical.
    let section = [[0.0, 0.0], [10.0, 0.0], [5.0, 10.0], [0.0, 10.0]];
    let mesh =
        Mesh::from_triangles(&super::prism(&section, 20.0), Format::BinaryStl).expect("mesh");
    let base = LayerPlan::new(0.2, 0.2).expect("valid");
    for (wide_step, wide) in [(0.09, true), (0.11, false)] {
        let slices = slice(&mesh, &base.with_wide_step(wide_step));
        assert_eq!(slices.layers.len(), 50);
        for layer in &slices.layers {
            assert!(
                relative(layer.slope_band_mm2, 20.0 * 0.1) < 1e-6,
                "at {}: {layer:?}",
                layer.top_mm
            );
            let want = if wide { layer.slope_band_mm2 } else { 0.0 };
            assert_eq!(layer.wide_slope_band_mm2, want, "at {}", layer.top_mm);
        }
    }
    // Without a wide step, no wall is wide.
    let plain = slice(&mesh, &base);
    assert!(plain.layers.iter().all(|l| l.wide_slope_band_mm2 == 0.0));
}

/// Each layer's Euler characteristic (pieces less holes), from the contours' turning points:
/// an annulus has none, a box's layers through its void none, a star-shaped outline (a gear's
/// teeth, whose dips between teeth are no holes) one, two separate squares two.
#[test]
fn each_layer_counts_its_pieces_less_its_holes() {
    let euler_of = |mesh: &Mesh| -> Vec<(f64, i32)> {
        slice(mesh, &LayerPlan::new(0.2, 0.2).expect("valid"))
            .layers
            .iter()
            .map(|l| (l.top_mm - l.height_mm / 2.0, l.euler))
            .collect()
    };
    let torus = load(&fixture("torus_r20_r5.stl")).expect("torus");
    assert!(euler_of(&torus).iter().all(|&(_, e)| e == 0));
    let boxed = load(&fixture("box_with_void.stl")).expect("box");
    let void = analyze(&boxed).bbox_max[2] / 4.0..analyze(&boxed).bbox_max[2] * 3.0 / 4.0;
    for (mid, euler) in euler_of(&boxed) {
        let through_void = void.contains(&mid);
        assert!(
            euler == if through_void { 0 } else { 1 } || (mid - void.start).abs() < 0.2,
            "at {mid}: {euler}"
        );
    }
    // A 12-toothed star extruded 5 mm along z (the prism helper extrudes along y: swap y and
    // z, and the winding with them).
    let star: Vec<[f32; 2]> = (0..24)
        .map(|k| {
            let angle = k as f32 * std::f32::consts::PI / 12.0 + 0.1;
            let r = if k % 2 == 0 { 10.0 } else { 7.0 };
            [r * angle.cos(), r * angle.sin()]
        })
        .collect();
    let triangles: Vec<[[f32; 3]; 3]> = super::prism(&star, 5.0)
        .into_iter()
        .map(|t| {
            let [a, b, c] = t.map(|[x, y, z]| [x, z, y]);
            [a, c, b]
        })
        .collect();
    let gear = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("star");
    assert!(analyze(&gear).volume_mm3 > 0.0, "the star faces out");
    assert!(
        euler_of(&gear).iter().all(|&(_, e)| e == 1),
        "{:?}",
        euler_of(&gear)
    );
    let mut two = cuboid([0.0; 3], [10.0; 3]);
    two.extend(cuboid([20.0, 0.0, 0.0], [10.0; 3]));
    let two = Mesh::from_triangles(&two, Format::BinaryStl).expect("two");
    assert!(euler_of(&two).iter().all(|&(_, e)| e == 2));
}
