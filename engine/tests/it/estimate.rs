//! The FDM estimate: properties that follow from its physics.

use pricing_engine::analyze;
use pricing_engine::estimate::fdm::{estimate, support_settings};
use pricing_engine::mesh::{Format, Mesh};
use pricing_engine::pricing::{FdmProcess, PriceBook, Process};
use pricing_engine::support::supports;

use super::{gridded_box, prism, relative};

fn process() -> FdmProcess {
    let Process::Fdm(process) = PriceBook::built_in().machines["mk3s"].process else {
        panic!("mk3s is FDM")
    };
    process
}

/// A printer follows a tessellated wall without stopping, so finer triangles must not change the
/// estimate (a model that stopped at every facet made the subdivided gear 4x slower).
#[test]
fn the_estimate_does_not_depend_on_tessellation() {
    let coarse = estimate(&gridded_box([20.0, 15.0, 10.0], 1), &process(), None).expect("estimate");
    let fine = estimate(&gridded_box([20.0, 15.0, 10.0], 20), &process(), None).expect("estimate");
    assert_eq!(coarse.layers, 50);
    assert!(
        relative(coarse.print_time_s, fine.print_time_s) < 1e-6,
        "{coarse:?} vs {fine:?}"
    );
    assert!(
        relative(coarse.filament_mm, fine.filament_mm) < 1e-6,
        "{coarse:?} vs {fine:?}"
    );
}

#[test]
fn denser_infill_uses_more_filament() {
    let part = gridded_box([30.0, 30.0, 20.0], 1);
    let sparse = estimate(&part, &process(), None).expect("estimate");
    let dense = estimate(
        &part,
        &FdmProcess {
            fill_density_percent: 40.0,
            ..process()
        },
        None,
    )
    .expect("estimate");
    assert!(
        dense.filament_mm > sparse.filament_mm * 1.05,
        "{sparse:?} vs {dense:?}"
    );
    assert!(
        dense.print_time_s > sparse.print_time_s,
        "{sparse:?} vs {dense:?}"
    );
}

#[test]
fn small_layers_are_slowed_for_cooling() {
    let part = gridded_box([8.0, 8.0, 5.0], 1);
    let cooled = estimate(&part, &process(), None).expect("estimate");
    let uncooled = estimate(
        &part,
        &FdmProcess {
            slowdown_below_layer_time_s: 0.0,
            ..process()
        },
        None,
    )
    .expect("estimate");
    // Slowing only ever lengthens a layer; and every one of the 25 layers lays at least its two
    // 32 mm perimeter loops, so slowed it takes at least min(15 s, 64 mm / 15 mm/s).
    assert!(
        cooled.print_time_s > uncooled.print_time_s,
        "{cooled:?} vs {uncooled:?}"
    );
    let floor = 25.0 * (15.0f64).min(64.0 / 15.0);
    assert!(cooled.print_time_s >= floor, "{cooled:?} under {floor}");
    // Slowing never changes what is extruded.
    assert_eq!(cooled.filament_mm, uncooled.filament_mm);
}

/// The first solid layer over sparse infill is a bridge (PrusaSlicer's `bridge_over_infill`),
/// printed at the bridge speed with the bridge flow: a 30 mm box has one such layer under its
/// top, 28.2 x 28.2 mm inside its two perimeters (0.44 mm apart).
#[test]
fn solid_over_sparse_infill_is_bridged() {
    // The same process with bridges printed as solid infill.
    let as_solid = FdmProcess {
        bridge_speed_mm_s: process().solid_infill_speed_mm_s,
        bridge_flow_ratio: 1.0,
        ..process()
    };
    let part = gridded_box([30.0, 30.0, 20.0], 1);
    let base = estimate(&part, &process(), None).expect("estimate");
    let as_solid_box = estimate(&part, &as_solid, None).expect("estimate");
    assert!(
        base.print_time_s > as_solid_box.print_time_s + 10.0,
        "{base:?} vs {as_solid_box:?}"
    );
    // The flow: 5% less over one layer of about 28.2^2 mm2 at 0.2 mm (and the joins between
    // its lines, about 2% more).
    let missing_mm3 = as_solid_box.filament_mm3 - base.filament_mm3;
    let expected = 0.05 * 28.2 * 28.2 * 0.2;
    assert!(
        (missing_mm3 - expected).abs() < 0.05 * expected,
        "{missing_mm3} mm3 vs {expected}"
    );
    // A part thin enough to be solid throughout has no sparse infill to bridge.
    let plate = gridded_box([30.0, 30.0, 1.2], 1);
    let plate_base = estimate(&plate, &process(), None).expect("estimate");
    let plate_solid = estimate(&plate, &as_solid, None).expect("estimate");
    assert_eq!(plate_base, plate_solid);
}

/// Separate bodies are reached by a travel on every layer they share, with its retractions:
/// two cubes 90 mm apart take longer than the same cubes 10 mm apart, by about the extra
/// travel; and the skirt around both (their convex hull) is 160 mm longer.
#[test]
fn separate_bodies_cost_a_travel_each_layer() {
    use pricing_engine::mesh::{Format, Mesh};
    let pair = |gap: f32| {
        let mut triangles = super::cuboid([0.0; 3], [10.0; 3]);
        triangles.extend(super::cuboid([10.0 + gap, 0.0, 0.0], [10.0; 3]));
        let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("mesh");
        // (Without the cooling slow-down, which would stretch these short layers anyway.)
        let process = FdmProcess {
            slowdown_below_layer_time_s: 0.0,
            ..process()
        };
        estimate(&mesh, &process, None).expect("estimate")
    };
    let (near, far) = (pair(10.0), pair(90.0));
    let p = process();
    let (w, h) = (p.first_layer_extrusion_width_mm, p.first_layer_height_mm);
    let skirt_mm3 = 160.0 * ((w - h) * h + std::f64::consts::FRAC_PI_4 * h * h);
    let filament_area = std::f64::consts::FRAC_PI_4 * p.filament_diameter_mm.powi(2);
    assert!(
        relative(
            far.filament_mm - near.filament_mm,
            skirt_mm3 / filament_area
        ) < 1e-9,
        "{} mm more filament",
        far.filament_mm - near.filament_mm
    );
    assert_eq!(near.layers, 50);
    // 50 layers, each with one travel 80 mm longer (centres 20 and 100 mm apart), at 150 mm/s
    // and 1000 mm/s2; the retractions are the same.
    let per_layer = |d: f64| {
        let (v, a) = (150.0, 1000.0);
        if d >= v * v / a {
            d / v + v / a
        } else {
            2.0 * (d / a).sqrt()
        }
    };
    let expected = 50.0 * (per_layer(100.0) - per_layer(20.0)) + 160.0 / p.first_layer_speed_mm_s;
    let extra = far.print_time_s - near.print_time_s;
    assert!(
        (extra - expected).abs() < 0.1 * expected,
        "{extra} s vs {expected} s"
    );
}

/// Cooling slows the extrusions, not the moves between them: on a part whose layers are
/// slowed to the minimum print speed, longer retractions add their whole time.
#[test]
fn cooling_stretches_extrusions_not_moves() {
    let part = gridded_box([8.0, 8.0, 5.0], 1);
    let base = process();
    let slower_retractions = FdmProcess {
        retract_length_mm: 2.0 * base.retract_length_mm,
        ..base
    };
    let a = estimate(&part, &base, None).expect("estimate");
    let b = estimate(&part, &slower_retractions, None).expect("estimate");
    // Two retractions a layer (the layer change, perimeters to infill), each out and back.
    let per_layer = 2.0 * 2.0 * base.retract_length_mm / base.retract_speed_mm_s;
    let expected = a.layers as f64 * per_layer;
    let extra = b.print_time_s - a.print_time_s;
    assert!(
        (extra - expected).abs() < 1e-6 * expected.max(1.0),
        "{extra} s vs {expected} s"
    );
}

#[test]
fn a_face_at_the_overhang_threshold_is_supported() {
    // A wedge whose side overhangs at exactly 45 degrees, the process's threshold: PrusaSlicer
    // supports it (its threshold is inclusive: it adds a degree); at 47 degrees it does not.
    let wedge = |degrees: f32| {
        let run = 10.0 / degrees.to_radians().tan();
        // The section in x and z, from the plate up, extruded 20 mm along y.
        let section = [[0.0, 0.0], [10.0, 0.0], [10.0 + run, 10.0], [0.0, 10.0]];
        Mesh::from_triangles(&prism(&section, 20.0), Format::BinaryStl).expect("mesh")
    };
    let settings = support_settings(&process());
    for (degrees, supported) in [(45.0, true), (47.0, false)] {
        let mesh = wedge(degrees);
        assert!(analyze(&mesh).volume_mm3 > 0.0, "the wedge faces out");
        let found = supports(&mesh, &settings);
        assert_eq!(
            found.pattern_volume_mm3 > 0.0,
            supported,
            "{degrees}: {found:?}"
        );
    }
}

/// PrusaSlicer lays support lines along x (`support_material_angle = 0`) and joins them with
/// short moves where they end: a support region long in x prints as a few long lines, the same
/// region turned a quarter about z as many short ones, each accelerating, and as many joins.
/// The filament is the same: the lines fill the same area, and the region's first and last
/// lines lie along its sides facing y as the joins do along those facing x.
#[test]
fn support_lines_run_along_x() {
    let table = |size: [f32; 2]| {
        let mut triangles = super::cuboid([0.0, 0.0, 0.0], [1.0, 1.0, 10.0]);
        triangles.extend(super::cuboid([0.0, 0.0, 10.0], [size[0], size[1], 3.0]));
        let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("mesh");
        let found = supports(&mesh, &support_settings(&process()));
        let estimate = estimate(&mesh, &process(), Some(&found)).expect("estimate");
        (found, estimate)
    };
    let (long_in_x, along) = table([40.0, 8.0]);
    let (long_in_y, across) = table([8.0, 40.0]);
    // The sides facing x are the short ones (8 mm across, 10 mm tall, on either side), give or
    // take the pattern's cells and the leg's corner.
    let x_share =
        |s: &pricing_engine::support::Supports| s.pattern_x_side_area_mm2 / s.pattern_side_area_mm2;
    assert!(
        (x_share(&long_in_x) - 0.2).abs() < 0.05 && (x_share(&long_in_y) - 0.8).abs() < 0.05,
        "{long_in_x:?} {long_in_y:?}"
    );
    assert!(
        relative(
            long_in_x.pattern_side_area_mm2,
            long_in_y.pattern_side_area_mm2
        ) < 0.02,
        "{long_in_x:?} {long_in_y:?}"
    );
    assert!(
        relative(along.support_mm3, across.support_mm3) < 0.02,
        "{along:?} vs {across:?}"
    );
    // About 4 lines of 40 mm a layer and their joins, against 18 lines of 8 mm and theirs: the
    // turned one takes about a fifth longer (1.23 times).
    assert!(
        across.support_time_s > 1.15 * along.support_time_s,
        "{} s along x vs {} s across",
        along.support_time_s,
        across.support_time_s
    );
}
