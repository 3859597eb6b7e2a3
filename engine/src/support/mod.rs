//! Supports: the geometry under overhangs that a printer must fill before it can print them.
//!
//! A face overhangs when it faces down and its slope, measured from the horizontal, is below the
//! threshold (PrusaSlicer's `support_material_threshold`, 45 degrees in the reference profile): a
//! ceiling is 0 degrees, a wall 90. Over the projection of every overhanging face a square grid
//! of points is laid; from each point, just below the face, a ray is cast straight down through
//! parry3d's BVH to the part below or, failing that, the build plate (the lowest point of the
//! part). Each point stands for a column of `grid_mm` x `grid_mm` x its height: their sum is the
//! support volume. The contact area is the projected area of the overhanging faces that are not
//! resting on the plate.
//!
//! A ray whose first hit is a face that also looks down started inside the solid (shells that
//! overlap, as in many multi-body exports): that column is material, not support.
//!
//! Grid points on an edge shared by two faces belong to exactly one of them (the top-left rule
//! of rasterisers), so no column is counted twice. What fraction of this volume a slicer fills,
//! and with which pattern, belongs to the print estimate, not here.

use rayon::prelude::*;

use crate::mesh::Mesh;

/// How supports are found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupportSettings {
    /// Faces sloping less than this from the horizontal, facing down, need support.
    pub overhang_angle_deg: f64,
    /// The spacing of the columns.
    pub grid_mm: f64,
    /// The cell of the slicer's support pattern (its line spacing plus one extrusion's): a
    /// slicer lays support lines over every cell that a column touches, so small supports
    /// grow to whole cells. 0 for none.
    pub pattern_cell_mm: f64,
}

impl Default for SupportSettings {
    fn default() -> SupportSettings {
        SupportSettings {
            overhang_angle_deg: 45.0,
            grid_mm: 0.5,
            pattern_cell_mm: 0.0,
        }
    }
}

/// The supports a part needs in its current orientation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Supports {
    pub volume_mm3: f64,
    pub contact_area_mm2: f64,
    /// Overhanging faces (resting on the plate excluded).
    pub n_overhanging_faces: u64,
    pub n_columns: u64,
    /// The volume and the top area of the columns grown to whole pattern cells (0 without a
    /// pattern cell): per cell, the union of the heights its columns span.
    pub pattern_volume_mm3: f64,
    pub pattern_contact_area_mm2: f64,
}

/// How far below a face a column's ray starts, and how close to the plate a face counts as
/// resting on it, in millimetres.
const EPSILON_MM: f64 = 1e-4;

/// Finds the supports of `mesh` as it stands (z up, plate under its lowest point).
pub fn supports(mesh: &Mesh, settings: &SupportSettings) -> Supports {
    let empty = Supports {
        volume_mm3: 0.0,
        contact_area_mm2: 0.0,
        n_overhanging_faces: 0,
        n_columns: 0,
        pattern_volume_mm3: 0.0,
        pattern_contact_area_mm2: 0.0,
    };
    let grid = settings.grid_mm;
    if mesh.triangles().is_empty() || grid.is_nan() || grid <= 0.0 {
        return empty;
    }
    let plate = mesh
        .positions()
        .iter()
        .map(|p| f64::from(p[2]))
        .fold(f64::INFINITY, f64::min);
    let min_down = settings.overhang_angle_deg.to_radians().cos();
    let overhangs: Vec<usize> = (0..mesh.triangles().len())
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&face| {
            let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
            let n = normal(a, b, c);
            let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            let resting = [a, b, c].iter().all(|p| p[2] - plate < EPSILON_MM);
            length > 0.0 && -n[2] / length > min_down && !resting
        })
        .collect();
    if overhangs.is_empty() {
        return empty;
    }
    let Some(caster) = crate::raycast::Caster::new(mesh) else {
        return empty;
    };
    let cell = settings.pattern_cell_mm;
    let pattern = cell.is_finite() && cell > 0.0;
    let per_face: Vec<(f64, f64, u64, Vec<Column>)> = overhangs
        .par_iter()
        .map(|&face| {
            let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
            let projected = (normal(a, b, c)[2] / 2.0).abs();
            let mut volume = 0.0;
            let mut columns = 0u64;
            let mut spans = Vec::new();
            for (x, y, z) in grid_points(a, b, c, grid) {
                let origin = [x as f32, y as f32, (z - EPSILON_MM) as f32];
                let to_plate = z - plate;
                // A little past the plate, to see the bottom of a part the point may be in.
                let reach = (to_plate + EPSILON_MM) as f32;
                let height = match caster.cast(origin, [0.0, 0.0, -1.0], reach) {
                    None => to_plate,
                    // The first face below faces down too: the point is inside another part
                    // of the solid (overlapping shells), which holds it up.
                    Some(hit) if face_points_down(mesh, hit.face) => 0.0,
                    Some(hit) => (f64::from(hit.distance) + EPSILON_MM).min(to_plate),
                };
                volume += grid * grid * height.max(0.0);
                columns += 1;
                if pattern && height > 0.0 {
                    spans.push(Column {
                        cell: [(x / cell).floor() as i64, (y / cell).floor() as i64],
                        low: z - height,
                        high: z,
                    });
                }
            }
            (volume, projected, columns, spans)
        })
        .collect();
    let mut result = Supports {
        n_overhanging_faces: overhangs.len() as u64,
        ..empty
    };
    let mut spans = Vec::new();
    for (volume, area, columns, face_spans) in per_face {
        result.volume_mm3 += volume;
        result.contact_area_mm2 += area;
        result.n_columns += columns;
        spans.extend(face_spans);
    }
    if pattern {
        // Per cell, the union of its columns' spans: each run of overlapping spans is one
        // support of the cell's area, with one top.
        spans.par_sort_unstable_by(|x, y| x.cell.cmp(&y.cell).then(x.low.total_cmp(&y.low)));
        for same_cell in spans.chunk_by(|x, y| x.cell == y.cell) {
            let mut run: Option<(f64, f64)> = None;
            for span in same_cell {
                run = match run {
                    Some((low, high)) if span.low <= high + EPSILON_MM => {
                        Some((low, high.max(span.high)))
                    }
                    Some((low, high)) => {
                        result.pattern_volume_mm3 += cell * cell * (high - low);
                        result.pattern_contact_area_mm2 += cell * cell;
                        Some((span.low, span.high))
                    }
                    None => Some((span.low, span.high)),
                };
            }
            if let Some((low, high)) = run {
                result.pattern_volume_mm3 += cell * cell * (high - low);
                result.pattern_contact_area_mm2 += cell * cell;
            }
        }
    }
    result
}

/// A column of support, in a pattern cell.
struct Column {
    cell: [i64; 2],
    low: f64,
    high: f64,
}

fn face_points_down(mesh: &Mesh, face: usize) -> bool {
    if face >= mesh.triangles().len() {
        return false;
    }
    let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
    normal(a, b, c)[2] < 0.0
}

fn normal(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> [f64; 3] {
    let (u, v) = (
        [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
    );
    [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ]
}

/// The grid points (centres of `grid`-sized cells) inside the triangle's projection, with the
/// height of the triangle's plane there. A point on an edge belongs to the triangle only on a
/// top or left edge, so that triangles sharing an edge never both claim it.
fn grid_points(a: [f64; 3], b: [f64; 3], c: [f64; 3], grid: f64) -> Vec<(f64, f64, f64)> {
    // Counter-clockwise in the xy projection.
    let orient = |p: [f64; 3], q: [f64; 3], x: f64, y: f64| {
        (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])
    };
    let (a, b, c) = if orient(a, b, c[0], c[1]) < 0.0 {
        (a, c, b)
    } else {
        (a, b, c)
    };
    let area2 = orient(a, b, c[0], c[1]);
    if area2 <= 0.0 {
        return Vec::new();
    }
    // A top edge is horizontal with the triangle below it; a left edge goes down (CCW).
    let top_left = |p: [f64; 3], q: [f64; 3]| (p[1] == q[1] && q[0] < p[0]) || q[1] < p[1];
    let edges = [(b, c), (c, a), (a, b)];
    let cell = |v: f64| (v / grid - 0.5).ceil() as i64;
    let (x0, x1) = (
        cell(a[0].min(b[0]).min(c[0])),
        cell(a[0].max(b[0]).max(c[0])),
    );
    let (y0, y1) = (
        cell(a[1].min(b[1]).min(c[1])),
        cell(a[1].max(b[1]).max(c[1])),
    );
    let mut out = Vec::new();
    for j in y0..=y1 {
        let y = (j as f64 + 0.5) * grid;
        for i in x0..=x1 {
            let x = (i as f64 + 0.5) * grid;
            let w = edges.map(|(p, q)| orient(p, q, x, y));
            let inside = edges
                .iter()
                .zip(w)
                .all(|(&(p, q), w)| w > 0.0 || (w == 0.0 && top_left(p, q)));
            if inside {
                // Barycentric height: w[0] weighs a, w[1] weighs b, w[2] weighs c.
                let z = (w[0] * a[2] + w[1] * b[2] + w[2] * c[2]) / area2;
                out.push((x, y, z));
            }
        }
    }
    out
}
