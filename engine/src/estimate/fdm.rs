//! The FDM estimate: print time and filament from the layers, modelled on what a slicer lays
//! down with the process's parameters (PrusaSlicer's names), not fitted to any file.
//!
//! Per layer (area `A`, contour `C` with `n` segments, height `h`):
//! - extrusions are `w` wide, spaced `s = w - h (1 - pi/4)` apart, with a cross-section of
//!   `(w - h) h + pi h^2 / 4` (PrusaSlicer's flow model);
//! - perimeters: one external loop of length `C` at the external speed, `perimeters - 1` inner
//!   loops at the perimeter speed; they cover a band of `perimeters * s` inside the contour, and
//!   hold no more length than `A / s` (a section thinner than the band is filled, not
//!   circled twice);
//! - inside it, area within `bottom_solid_layers` of a downward surface or `top_solid_layers`
//!   of an upward one is solid (line spacing `s`), estimated from how the inner area changes
//!   over those layers; where it changes because the walls slope (PrusaSlicer's vertical
//!   shells), only the share from walls that move at least `s` over those layers is solid
//!   (PrusaSlicer opens narrower bands away: a cone's inside is sparse up to its tip); area
//!   exposed on top is printed at the top-solid speed; the rest is sparse infill at
//!   `fill_density` (line spacing `s / density`);
//! - solid area laid over the air or the sparse infill of the layer below (what the inner
//!   area, or the solid area, gained since that layer) is a bridge, printed at the bridge
//!   speed with `bridge_flow_ratio` of the flow (PrusaSlicer's bridges, and its
//!   `bridge_over_infill` under every top);
//! - the first layer prints everything at the first-layer speed;
//! - every run accelerates and decelerates at the process's acceleration: a run of length `L`
//!   at speed `v` takes `L / v + v / a` (or `2 sqrt(L / a)` when too short to reach `v`); a
//!   perimeter loop is one run (firmware keeps its speed through the small turns of a curve),
//!   infill lines are as long as the section is wide (`pi A / C`, Cauchy's mean chord);
//! - each infill line ends with a move one line spacing long to the next, which starts and
//!   stops like any run: extruded where lines are joined (solid infill's zigzag, and sparse
//!   infill's anchors along the perimeter, PrusaSlicer's `infill_anchor`: its G-code's sparse
//!   infill is the lines plus about one line spacing per line), a travel between the top
//!   layer's monotonic lines;
//! - each perimeter loop slows at the contour's sharp corners (turns of 10 degrees or more, from
//!   the mesh's edges) to the speed the jerk limit allows there, and speeds up again, as far
//!   as the corners' mean spacing lets it (a gear's teeth are too short to reach full speed);
//! - every layer begins with a move up (at the z speed and acceleration) and two retractions
//!   (the layer change, and the travel from perimeters to infill), and each further separate
//!   body it crosses costs a travel (their mean distance to the nearest other) and two more
//!   retractions, and each hole (the layer's pieces less its Euler characteristic, from the
//!   slicer) a travel as long as the holes are apart and a retraction, to its own perimeter
//!   loops; the first layer also prints
//!   the skirt, around the convex hull of the first layer (the part's, and the supports' first
//!   layer with its expansion), its line's centre the skirt's distance and half a width away:
//!   the hull's perimeter plus a circle;
//! - a layer faster than `slowdown_below_layer_time` is slowed to it, its extrusions but not
//!   its moves (layer change, retractions, travels), and never below `min_print_speed`;
//! - the print starts with the travel from home to the part (`start_travel_mm`) and ends with
//!   the end G-code's lift (`end_lift_mm`): seconds that decide the time of a tiny part.
//!
//! Supports (when asked for, from [`crate::support`], grown to the support pattern's cells and
//! trimmed by the part, as PrusaSlicer's grid supports are): the space they fill gets lines
//! along x (PrusaSlicer's `support_material_angle` of 0) `support_spacing` apart (plus the
//! flow's own spacing), as long as the supports are wide in x (their volume over half their
//! side area facing x), one more line along about half of the sides facing y (a region's
//! first and last), joined by short moves along about half of the sides facing x (a
//! zigzag's turns alternate sides; a strip narrower than the spacing is all outline); the
//! `support_interface_layers` under each contact with a shallow overhang (whose layers reach
//! 60% of an extrusion's width past the one below), the support's top and every lower contact
//! of its pattern cell that it passes, are dense instead (lines `support_interface_spacing`
//! apart) at the interface speed; their first layer on the plate,
//! expanded by `support_first_layer_expansion_mm`, is filled at
//! `support_first_layer_density_percent` at the first layer's width and speed; and every layer
//! that holds supports costs a retraction to reach them.
//!
//! Not modelled yet, and where the remaining error is (`pricing-bench accuracy`, README):
//! longer travels between pieces, the slower speed of small perimeters, gap fill; support
//! lines printed in layers the cooling slows down (PrusaSlicer's tiny supports cost seconds a
//! layer); for supports, the travel between separate support islands of a layer, and their
//! thicker layers (PrusaSlicer prints supports in layers up to 0.25 mm, not synchronised with
//! the part's).

use crate::mesh::Mesh;
use crate::pricing::FdmProcess;
use crate::slicing::union::{self, Box3};
use crate::slicing::{Layer, LayerPlan, convex_hull, corner_turn_deg, perimeter, slice};
use crate::support::{SupportSettings, Supports};

/// The FDM estimate of one piece.
#[derive(Debug, Clone, PartialEq)]
pub struct FdmEstimate {
    pub layers: usize,
    pub print_time_s: f64,
    pub filament_mm: f64,
    pub filament_mm3: f64,
    /// The part of `filament_mm3` and of `print_time_s` that prints supports.
    pub support_mm3: f64,
    pub support_time_s: f64,
}

/// Time to run `length` mm in straight runs of `run` mm at `speed` mm/s, accelerating at
/// `acceleration` mm/s^2.
fn run_time(length: f64, run: f64, speed: f64, acceleration: f64) -> f64 {
    if !(length > 0.0 && speed > 0.0 && acceleration > 0.0) {
        return 0.0;
    }
    // Not `clamp`: it panics when a path is shorter than the lower bound.
    let run = run.min(length).max(length.min(1e-3));
    let runs = length / run;
    let per_run = if run >= speed * speed / acceleration {
        run / speed + speed / acceleration
    } else {
        2.0 * (run / acceleration).sqrt()
    };
    runs * per_run
}

/// The time lost at a corner turning `turn_deg` for a path at `speed` with `acceleration`,
/// corners `spacing` apart: the printer slows to the speed at which the turn's change of
/// velocity, `2 v sin(turn / 2)`, is within `jerk`, and speeds up again. Between corners far
/// enough apart it reaches `speed`, and loses `(v - v_corner)^2 / (a v)` against cruising
/// through; between close ones (a gear's teeth) it only reaches `sqrt(v_corner^2 + a d)`
/// before it must slow again, and loses what that run takes over cruising its length.
fn corner_time(turn_deg: f64, speed: f64, acceleration: f64, jerk: f64, spacing: f64) -> f64 {
    let at_corner = jerk / (2.0 * (turn_deg.to_radians() / 2.0).sin());
    if at_corner >= speed {
        return 0.0;
    }
    let peak = (at_corner * at_corner + acceleration * spacing).sqrt();
    if peak >= speed {
        (speed - at_corner).powi(2) / (acceleration * speed)
    } else {
        (2.0 * (peak - at_corner) / acceleration - spacing / speed).max(0.0)
    }
}

/// The separate bodies of a part (shells enclosing a volume, none meeting another): the
/// heights each spans above the plate, and how far apart they are (the mean distance from each
/// body's centre to the nearest other's). None when the part is one body or its bodies meet.
struct Bodies {
    spans: Vec<(f64, f64)>,
    spacing_mm: f64,
}

impl Bodies {
    fn of(mesh: &Mesh) -> Bodies {
        let none = Bodies {
            spans: Vec::new(),
            spacing_mm: 0.0,
        };
        // Bodies that meet print as one island where they meet, and are left alone here.
        if union::bodies_meet(mesh) != Some(false) {
            return none;
        }
        let shells = mesh.shells();
        let positions = mesh.positions();
        let plate = positions
            .iter()
            .map(|p| f64::from(p[2]))
            .fold(f64::INFINITY, f64::min);
        let boxes =
            union::shell_boxes(mesh, shells, &|v: u32| positions[v as usize].map(f64::from));
        let bodies: Vec<Box3> = (0..shells.count)
            .filter(|&s| shells.is_body(s))
            .map(|s| boxes[s])
            .collect();
        if bodies.len() < 2 {
            return none;
        }
        let centre = |b: &Box3| [(b.0[0] + b.1[0]) / 2.0, (b.0[1] + b.1[1]) / 2.0];
        let nearest: f64 = bodies
            .iter()
            .enumerate()
            .map(|(k, a)| {
                bodies
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .map(|(_, b)| {
                        let (p, q) = (centre(a), centre(b));
                        ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
                    })
                    .fold(f64::INFINITY, f64::min)
            })
            .sum();
        Bodies {
            spans: bodies
                .iter()
                .map(|b| (b.0[2] - plate, b.1[2] - plate))
                .collect(),
            spacing_mm: nearest / bodies.len() as f64,
        }
    }

    /// How many bodies the plane at `z` above the plate cuts.
    fn crossing(&self, z: f64) -> usize {
        self.spans
            .iter()
            .filter(|&&(low, high)| low < z && z <= high)
            .count()
    }
}

fn spacing(w: f64, h: f64) -> f64 {
    w - h * (1.0 - std::f64::consts::FRAC_PI_4)
}

fn section(w: f64, h: f64) -> f64 {
    (w - h) * h + std::f64::consts::FRAC_PI_4 * h * h
}

/// How to find the supports this process prints: its overhang threshold, its support
/// pattern's cell (line spacing plus the flow's own spacing), to which supports grow, its layer
/// height (thinner gaps hold no support) and its first layer's expansion.
pub fn support_settings(process: &FdmProcess) -> SupportSettings {
    SupportSettings {
        // A face at the threshold itself needs support too: PrusaSlicer adds a degree to
        // make its threshold inclusive (a 45-degree chamfer is supported at 45).
        overhang_angle_deg: process.support_threshold_deg + 1.0,
        pattern_cell_mm: process.support_spacing_mm
            + spacing(process.support_extrusion_width_mm, process.layer_height_mm),
        min_gap_mm: process.layer_height_mm,
        min_plate_gap_mm: process.first_layer_height_mm + process.support_contact_distance_mm,
        first_layer_expansion_mm: process.support_first_layer_expansion_mm,
        xy_gap_mm: process.support_xy_spacing_mm,
        contact_gap_mm: process.support_contact_distance_mm,
        interface_depth_mm: f64::from(process.support_interface_layers) * process.layer_height_mm,
        // PrusaSlicer gives no dense interface to an overhang whose layers reach less than 60%
        // of an extrusion's width past the layer below.
        interface_angle_deg: (process.layer_height_mm
            / (DENSE_INTERFACE_REACH * process.extrusion_width_mm))
            .atan()
            .to_degrees(),
        ..SupportSettings::default()
    }
}

/// How far past the layer below, in extrusion widths, an overhang's layer must reach for
/// its support to get dense interface layers (PrusaSlicer's supports).
const DENSE_INTERFACE_REACH: f64 = 0.6;

/// The perimeter of the convex hull of the first layer: the part's (`part_hull`), and the
/// supports' first layer, their cells on the plate grown by the expansion (a disc, so the box's
/// corners are arcs); `None` when the first layer holds nothing.
fn skirt_hull_mm(
    part_hull: &[[f64; 2]],
    supports: Option<&Supports>,
    process: &FdmProcess,
) -> Option<f64> {
    const ARC_POINTS: usize = 8;
    let mut points = part_hull.to_vec();
    if let Some([x0, y0, x1, y1]) = supports.and_then(|s| s.first_layer_box_mm) {
        let r = process.support_first_layer_expansion_mm.max(0.0);
        for (corner, start) in [
            ([x1, y1], 0.0),
            ([x0, y1], 0.5),
            ([x0, y0], 1.0),
            ([x1, y0], 1.5),
        ] {
            for k in 0..=ARC_POINTS {
                let angle = (start + 0.5 * k as f64 / ARC_POINTS as f64) * std::f64::consts::PI;
                points.push([corner[0] + r * angle.cos(), corner[1] + r * angle.sin()]);
            }
        }
    }
    if points.is_empty() {
        return None;
    }
    Some(perimeter(&convex_hull(points)))
}

/// The filament volume and the time to print `supports`.
fn support_extrusion(supports: &Supports, process: &FdmProcess) -> (f64, f64) {
    // The supports grown to the pattern's cells and trimmed by the part (`support_settings`
    // always asks for them).
    let (volume, contact) = (
        supports.pattern_volume_mm3,
        supports.pattern_contact_area_mm2,
    );
    if volume <= 0.0 && contact <= 0.0 && supports.first_layer_area_mm2 <= 0.0 {
        return (0.0, 0.0);
    }
    let h = process.layer_height_mm;
    let w = process.support_extrusion_width_mm;
    let body_pitch = process.support_spacing_mm + spacing(w, h);
    let interface_pitch = process.support_interface_spacing_mm + spacing(w, h);
    // The lines of each layer's support run along x (PrusaSlicer's `support_material_angle`
    // of 0), a pitch apart, and a zigzag joins them where they end: a pitch at a time along
    // about half of the outline that faces along x (from one line's end to the next line's
    // start, alternately on either side). A region `H` across in y holds `H / pitch + 1`
    // lines: beyond the area over the pitch, one more line along about half of the outline
    // that faces along y (its first and its last). The lines are as long as the region is
    // wide in x: its area over its extent in y (half the outline facing along x), here of
    // all layers at once (volume over side area).
    // The `support_interface_layers` under each contact are the supports' interface, dense
    // lines under the part, and the rest their body (a support shorter than that is all
    // interface).
    let interface_volume = supports
        .pattern_interface_volume_mm3
        .clamp(0.0, volume.max(0.0));
    let body = if volume > 0.0 {
        (volume - interface_volume) / volume
    } else {
        0.0
    };
    let (x_sides, y_sides) = (
        supports.pattern_x_side_area_mm2,
        supports.pattern_side_area_mm2 - supports.pattern_x_side_area_mm2,
    );
    let lines_length = body * (volume / body_pitch + y_sides / 2.0) / h;
    let joins_length = body * x_sides / (2.0 * h);
    let chord = if x_sides > 0.0 {
        2.0 * volume / x_sides
    } else {
        contact.sqrt()
    }
    .max(w);
    let interface_length = interface_volume / (h * interface_pitch);
    // The first layer under the supports is dense, at the first layer's width and speed.
    let (first_w, first_h) = (
        process.first_layer_extrusion_width_mm,
        process.first_layer_height_mm,
    );
    let first_pitch =
        spacing(first_w, first_h) * 100.0 / process.support_first_layer_density_percent;
    let first_length = supports.first_layer_area_mm2 / first_pitch;
    let speed = process.support_speed_mm_s.min(process.max_print_speed_mm_s);
    let first_speed = process.first_layer_speed_mm_s.min(speed);
    let interface_speed = speed * process.support_interface_speed_percent / 100.0;
    let acceleration = process.default_acceleration_mm_s2;
    let lines = |length: f64, run: f64, pitch: f64, speed: f64| {
        run_time(length, run, speed, acceleration)
            + (length / run).ceil() * run_time(pitch, pitch, speed, acceleration)
    };
    // Layers holding supports: the mean column height over the layer height.
    let support_layers = if contact > 0.0 {
        (volume / contact / h).ceil()
    } else {
        0.0
    };
    let retractions = if process.retract_speed_mm_s > 0.0 {
        support_layers * 2.0 * process.retract_length_mm / process.retract_speed_mm_s
    } else {
        0.0
    };
    let volume = (lines_length + joins_length + interface_length) * section(w, h)
        + first_length * section(first_w, first_h);
    // The first layer reaches its expansion further on either side.
    let first_chord = chord + 2.0 * process.support_first_layer_expansion_mm;
    let time = run_time(lines_length, chord, speed, acceleration)
        + run_time(joins_length, body_pitch, speed, acceleration)
        + lines(interface_length, chord, interface_pitch, interface_speed)
        + lines(first_length, first_chord, first_pitch, first_speed)
        + retractions;
    (volume, time)
}

/// Estimates printing `mesh` as it stands with `process`, with `supports` when given. `None`
/// when the process's heights are not valid (a validated price book never has such).
pub fn estimate(
    mesh: &Mesh,
    process: &FdmProcess,
    supports: Option<&Supports>,
) -> Option<FdmEstimate> {
    // A sloping wall makes solid infill inside it (the vertical shell) only where it moves an
    // extrusion's spacing within the solid layers' reach (see the shell below).
    let solid_layers = process
        .top_solid_layers
        .max(process.bottom_solid_layers)
        .max(1);
    let plan = LayerPlan::new(process.first_layer_height_mm, process.layer_height_mm)
        .ok()?
        .with_wide_step(
            spacing(process.extrusion_width_mm, process.layer_height_mm) / f64::from(solid_layers),
        );
    let slices = slice(mesh, &plan);
    let bodies = Bodies::of(mesh);
    let layers = &slices.layers;
    let density = process.fill_density_percent / 100.0;
    // The area inside the perimeters of each layer (an inside-out part counts as material).
    let inner: Vec<f64> = layers
        .iter()
        .map(|layer| {
            let w = process.extrusion_width_mm;
            (layer.area_mm2.abs()
                - layer.contour_mm * f64::from(process.perimeters) * spacing(w, layer.height_mm))
            .max(0.0)
        })
        .collect();
    // A layer's inner area, 0 beyond the part.
    let inner_at = |j: isize| {
        usize::try_from(j)
            .ok()
            .and_then(|j| inner.get(j))
            .copied()
            .unwrap_or(0.0)
    };
    // The top surface of layer `j`: its inner area that the next layer's leaves uncovered,
    // which the solid layers under it fill again; here as much of it as layer `i`'s inner
    // area holds. Its bottom surface, from the layer before.
    let uncovered =
        |i: usize, j: isize, next: isize| (inner[i].min(inner_at(j)) - inner_at(next)).max(0.0);
    // The least inner area over layers `from..=to` (0 beyond the part).
    let covered = |from: isize, to: isize| (from..=to).map(inner_at).fold(f64::INFINITY, f64::min);
    let mut total_time = 0.0;
    let mut total_volume = 0.0;
    let mut solid_below = 0.0;
    // One retraction: the filament pulled back and pushed again.
    let retraction = if process.retract_speed_mm_s > 0.0 {
        2.0 * process.retract_length_mm / process.retract_speed_mm_s
    } else {
        0.0
    };
    for (i, layer) in layers.iter().enumerate() {
        let Layer {
            height_mm: h,
            contour_mm: contour,
            corner_turns,
            ..
        } = *layer;
        let first = i == 0;
        let mut volume_extra = 0.0;
        // Time spent moving without extruding: layer change, retractions, travels.
        let mut moves = 0.0;
        let w = if first {
            process.first_layer_extrusion_width_mm
        } else {
            process.extrusion_width_mm
        };
        let s = spacing(w, h);
        let idx = i as isize;
        // Solid under each top surface within the top layers' reach, and over each bottom
        // surface within the bottom layers'.
        let under_top = (0..process.top_solid_layers as isize)
            .map(|k| uncovered(i, idx + k, idx + k + 1))
            .fold(0.0, f64::max);
        let over_bottom = (0..process.bottom_solid_layers as isize)
            .map(|k| uncovered(i, idx - k, idx - k - 1))
            .fold(0.0, f64::max);
        let exposed_top = uncovered(i, idx, idx + 1);
        // PrusaSlicer's `ensure_vertical_shell_thickness`: where the layers within the solid
        // layers' reach hold less infill area (a sloping wall), the difference is solid too,
        // but a band narrower than an extrusion's spacing is opened away (its
        // `discover_vertical_shells`): a cone's walls, which move a third of a millimetre over
        // three layers, get none. The band's share from walls that move far enough stays.
        let below = covered(idx - process.bottom_solid_layers as isize, idx - 1);
        let above = covered(idx + 1, idx + process.top_solid_layers as isize);
        let shell = (inner[i] - below.min(above)).max(0.0);
        let shell = if layer.slope_band_mm2 > 0.0 {
            shell * layer.wide_slope_band_mm2 / layer.slope_band_mm2
        } else {
            shell
        };
        let solid = under_top.max(over_bottom).max(shell).min(inner[i]);
        let sparse = inner[i] - solid;
        let top = exposed_top.min(solid);
        // Solid area laid over the air or the sparse infill of the layer below is a bridge:
        // PrusaSlicer prints it as bridge infill (bridges over air, and its
        // `bridge_over_infill`) at the bridge speed and flow. Over air is the inner area the
        // layer below's slice does not hold; over sparse infill, the solid area gained (solid
        // regions nest, thickening towards a top or a bottom surface).
        let bridge = if first {
            0.0
        } else {
            let over_air = uncovered(i, idx, idx - 1);
            over_air.max(solid - solid_below).clamp(0.0, solid - top)
        };
        solid_below = solid;
        let cap = |v: f64| {
            if first {
                process.first_layer_speed_mm_s
            } else {
                v.min(process.max_print_speed_mm_s)
            }
        };
        // A perimeter follows the contour without stopping: firmware carries its speed through
        // the small turns of a tessellated curve (junction deviation), so a loop is one run.
        let perimeter_run = contour;
        let chord = if contour > 0.0 {
            std::f64::consts::PI * inner[i] / contour
        } else {
            0.0
        };
        let accel = |a: f64| {
            if first {
                process.first_layer_acceleration_mm_s2
            } else {
                a
            }
        };
        let inner_loops = f64::from(process.perimeters.saturating_sub(1));
        // The loops hold no more length than the section's area at their spacing: a section
        // thinner than the perimeters' band gets as much perimeter as fills it.
        let fits = layer.area_mm2.abs() / s;
        let external_loop = contour.min(fits);
        let inner_loops_length = (contour * inner_loops).min((fits - external_loop).max(0.0));
        let inner_share = if contour * inner_loops > 0.0 {
            inner_loops_length / (contour * inner_loops)
        } else {
            0.0
        };
        let paths = [
            // (length, straight run, speed, acceleration)
            (
                external_loop,
                perimeter_run.min(external_loop),
                cap(process.external_perimeter_speed_mm_s),
                accel(process.perimeter_acceleration_mm_s2),
            ),
            (
                inner_loops_length,
                perimeter_run.min(external_loop),
                cap(process.perimeter_speed_mm_s),
                accel(process.perimeter_acceleration_mm_s2),
            ),
            (
                (solid - top - bridge) / s,
                chord,
                cap(process.solid_infill_speed_mm_s),
                accel(process.infill_acceleration_mm_s2),
            ),
            (
                top / spacing(process.top_infill_extrusion_width_mm, h),
                chord,
                cap(process.top_solid_infill_speed_mm_s),
                accel(process.infill_acceleration_mm_s2),
            ),
            (
                sparse * density / s,
                chord,
                cap(process.infill_speed_mm_s),
                accel(process.infill_acceleration_mm_s2),
            ),
            (
                bridge / s,
                chord,
                cap(process.bridge_speed_mm_s),
                accel(process.infill_acceleration_mm_s2),
            ),
        ];
        // A bridge extrudes `bridge_flow_ratio` of the normal flow.
        volume_extra -= (1.0 - process.bridge_flow_ratio) * paths[5].0 * section(w, h);
        let mut length: f64 = paths.iter().map(|p| p.0).sum();
        let mut time: f64 = paths
            .iter()
            .map(|&(l, run, v, a)| run_time(l, run, v, a))
            .sum();
        // Each infill line ends with a move to the next, one line spacing long, which starts
        // and stops like any run: extruded where the lines are joined (solid infill's zigzag,
        // sparse infill's anchors along the perimeter, PrusaSlicer's `infill_anchor`), a
        // travel between the top layer's monotonic lines.
        for &(path_length, run, speed, acceleration, line_spacing, extruded) in &[
            (paths[2].0, chord, paths[2].2, paths[2].3, s, true),
            (
                paths[3].0,
                chord,
                paths[3].2,
                paths[3].3,
                spacing(process.top_infill_extrusion_width_mm, h),
                false,
            ),
            (
                paths[4].0,
                chord,
                paths[4].2,
                paths[4].3,
                s / density.max(1e-3),
                true,
            ),
            (paths[5].0, chord, paths[5].2, paths[5].3, s, true),
        ] {
            // (A path under a micrometre is the rounding of areas that cancel, not a line.)
            if path_length > 1e-3 && run > 0.0 {
                let lines = (path_length / run).max(1.0);
                let joins = lines * run_time(line_spacing, line_spacing, speed, acceleration);
                time += joins;
                if extruded {
                    length += lines * line_spacing;
                } else {
                    moves += joins;
                }
            }
        }
        // Moving up to this layer, with the filament retracted and pushed again; and one more
        // retraction for the travel from the perimeters to the infill.
        if !first {
            moves += run_time(
                h,
                h,
                process.travel_speed_z_mm_s,
                process.z_acceleration_mm_s2,
            );
        }
        moves += 2.0 * retraction;
        // Each further body the layer crosses is reached by a travel, with a retraction before
        // it and another between its perimeters and its infill.
        let travel = |distance: f64| {
            run_time(
                distance,
                distance,
                process.travel_speed_mm_s,
                process.default_acceleration_mm_s2,
            )
        };
        let crossed = bodies.crossing(layer.top_mm - h / 2.0);
        let others = crossed.saturating_sub(1);
        if others > 0 {
            moves += others as f64 * (travel(bodies.spacing_mm) + 2.0 * retraction);
        }
        // Each hole's perimeters are loops of their own: the nozzle travels to them, with a
        // retraction, about as far as holes are apart. Holes: the pieces (the separate bodies
        // the layer crosses, at least one) less the Euler characteristic.
        let holes = (crossed.max(1) as i64 - i64::from(layer.euler)).max(0) as u32;
        if holes > 0 {
            let apart = (layer.area_mm2.abs() / f64::from(holes + 1)).sqrt();
            moves += f64::from(holes) * (travel(apart) + retraction);
        }
        time += moves;
        // The skirt around the first layer, at the first layer's speed.
        if first && process.skirts > 0 {
            // Its line's centre is the distance and half its width out from the hull.
            let loop_mm = skirt_hull_mm(&slices.first_layer_hull, supports, process)
                .unwrap_or(contour)
                + std::f64::consts::TAU * (process.skirt_distance_mm + w / 2.0);
            let skirt = f64::from(process.skirts) * loop_mm;
            time += run_time(
                skirt,
                loop_mm,
                process.first_layer_speed_mm_s,
                process.first_layer_acceleration_mm_s2,
            );
            volume_extra += skirt * section(w, h);
        }
        // Every perimeter loop slows at the contour's sharp corners, as far apart on average
        // as the contour shares out among them.
        let n_corners: u32 = corner_turns.iter().sum();
        let corner_spacing = contour / f64::from(n_corners.max(1));
        for (bin, &count) in corner_turns.iter().enumerate() {
            let external = corner_time(
                corner_turn_deg(bin),
                paths[0].2,
                paths[0].3,
                process.jerk_mm_s,
                corner_spacing,
            );
            let inner = corner_time(
                corner_turn_deg(bin),
                paths[1].2,
                paths[1].3,
                process.jerk_mm_s,
                corner_spacing,
            );
            time += f64::from(count) * (external + inner_loops * inner_share * inner);
        }
        // Cooling slows the extrusions, not the moves between them, and none below
        // `min_print_speed`.
        if time < process.slowdown_below_layer_time_s {
            time = process
                .slowdown_below_layer_time_s
                .min(length / process.min_print_speed_mm_s + moves)
                .max(time);
        }
        total_time += time;
        total_volume += length * section(w, h) + volume_extra;
    }
    let (support_mm3, support_time_s) = supports
        .map(|supports| support_extrusion(supports, process))
        .unwrap_or((0.0, 0.0));
    total_time += support_time_s;
    total_volume += support_mm3;
    // The print's start and end: the travel from home to the part, the lift away from it.
    total_time += run_time(
        process.start_travel_mm,
        process.start_travel_mm,
        process.travel_speed_mm_s,
        process.default_acceleration_mm_s2,
    ) + run_time(
        process.end_lift_mm,
        process.end_lift_mm,
        process.travel_speed_z_mm_s,
        process.z_acceleration_mm_s2,
    );
    let filament_area =
        std::f64::consts::FRAC_PI_4 * process.filament_diameter_mm * process.filament_diameter_mm;
    Some(FdmEstimate {
        layers: layers.len(),
        print_time_s: total_time,
        filament_mm: total_volume / filament_area,
        filament_mm3: total_volume,
        support_mm3,
        support_time_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corners_close_together_cost_no_more_than_crawling_between_them() {
        let (v, a, jerk) = (45.0, 800.0, 8.0);
        let at_corner = jerk / (2.0 * 45f64.to_radians().sin());
        // Far apart: the full slow-down and speed-up.
        let far = corner_time(90.0, v, a, jerk, 1000.0);
        assert!((far - (v - at_corner).powi(2) / (a * v)).abs() < 1e-12);
        // Where the printer just reaches full speed, both ways agree.
        let reach = (v * v - at_corner * at_corner) / a;
        let below = corner_time(90.0, v, a, jerk, reach * (1.0 - 1e-9));
        assert!((below - far).abs() < 1e-9, "{below} vs {far}");
        // Closer, less is lost, never more than crawling the whole way at the corner's speed,
        // and never less than nothing.
        let mut previous = far;
        for d in [5.0, 2.0, 1.0, 0.5, 0.1, 0.01] {
            let lost = corner_time(90.0, v, a, jerk, d);
            assert!(lost <= previous && lost >= 0.0, "{d}: {lost}");
            assert!(lost <= d / at_corner - d / v + 1e-12, "{d}: {lost}");
            previous = lost;
        }
        // A turn gentle enough for the jerk costs nothing.
        assert_eq!(corner_time(10.0, v, a, jerk, 1.0), 0.0);
    }
}
