//! Slicing: where each layer's plane cuts the part, as cross-section area and contour length
//! per layer. This is the input the FDM and SLA time models work from.
//!
//! Layers are stacked from the lowest point of the part (the build plate), the first of
//! `first_layer_height_mm`, the others of `layer_height_mm`, and each is cut at its
//! mid-height, as PrusaSlicer does.
//!
//! No contour is chained into loops: a plane crosses a triangle in one segment, directed by the
//! triangle's winding so that outer contours run counter-clockwise seen from above. The
//! shoelace sum over a layer's segments is then twice the signed area of the cross-section
//! (holes subtract themselves) and the sum of their lengths is the contour length. That holds
//! when the contours close, i.e. for a watertight mesh, and then costs one pass over the
//! faces. Two corrections follow what a slicer prints where it does not hold:
//! - an open mesh's contours stop at edges without a partner face: those open chains are
//!   walked, joined over gaps up to 2 mm, and dropped where they do not close, as PrusaSlicer
//!   does (`open`);
//! - bodies pushed into each other (shells whose surfaces cross, or one inside another) print
//!   as their union: the walls inside it are taken away (`union`).
//!
//! Triangles are processed in parallel in fixed chunks whose sums are added in order, so
//! results do not depend on the number of threads.

use rayon::prelude::*;

use crate::mesh::{Mesh, face_normal};

mod open;
pub(crate) mod union;

/// How layers are stacked: positive, finite heights (the constructor checks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerPlan {
    first_layer_height_mm: f64,
    layer_height_mm: f64,
    /// Sloping walls that move at least this far per layer make [`Layer::wide_slope_band_mm2`].
    min_wide_step_mm: f64,
}

/// One layer of the part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layer {
    /// Height of the layer's top above the plate.
    pub top_mm: f64,
    pub height_mm: f64,
    /// Signed cross-section area at mid-height: negative where the part is inside out.
    pub area_mm2: f64,
    /// Length of all contours (outer and holes) at mid-height.
    pub contour_mm: f64,
    /// Corners of those contours by how sharply they turn: `corner_turns[k]` counts turns from
    /// `10 + 20 k` to `30 + 20 k` degrees (see [`corner_turn_deg`]); gentler turns, as along a
    /// tessellated curve, are not corners.
    pub corner_turns: [u32; CORNER_BINS],
    /// How far the contour's sloping walls move from one layer to the next, summed along it:
    /// each segment's length times its face's horizontal step per layer (the layer's height
    /// over the face's slope). A vertical wall moves nothing.
    pub slope_band_mm2: f64,
    /// The part of it from walls that move at least the plan's wide step per layer.
    pub wide_slope_band_mm2: f64,
    /// The cross-section's Euler characteristic: its pieces less its holes (Morse theory on
    /// y: the contours' lowest points with the part above them less their highest points with
    /// the part above them).
    pub euler: i32,
}

/// Corner bins of [`Layer::corner_turns`].
pub const CORNER_BINS: usize = 9;

/// The turn, in degrees, that stands for corner bin `bin`: its middle.
pub fn corner_turn_deg(bin: usize) -> f64 {
    20.0 + 20.0 * bin as f64
}

/// Turns below this many degrees are not corners: a printer keeps its speed through them.
const MIN_CORNER_DEG: f64 = 10.0;

/// The layers of a part, bottom first.
#[derive(Debug, Clone, PartialEq)]
pub struct Slices {
    pub layers: Vec<Layer>,
    /// The convex hull of the first layer's contours, counter-clockwise, in the mesh's x and y:
    /// what a slicer's skirt goes around.
    pub first_layer_hull: Vec<[f64; 2]>,
}

impl Slices {
    /// Σ area × height: the volume the layers print (the midpoint rule over the part's height).
    pub fn layered_volume_mm3(&self) -> f64 {
        self.layers
            .iter()
            .map(|layer| layer.area_mm2 * layer.height_mm)
            .sum()
    }
}

const CHUNK: usize = 4096;

impl LayerPlan {
    /// A plan with these heights, or why they cannot be.
    pub fn new(first_layer_height_mm: f64, layer_height_mm: f64) -> Result<LayerPlan, String> {
        for (name, value) in [
            ("first layer height", first_layer_height_mm),
            ("layer height", layer_height_mm),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!(
                    "the {name} must be a positive number of millimetres, not {value}"
                ));
            }
        }
        Ok(LayerPlan {
            first_layer_height_mm,
            layer_height_mm,
            min_wide_step_mm: f64::INFINITY,
        })
    }

    /// The same plan, counting the sloping walls that move at least `step_mm` per layer
    /// apart ([`Layer::wide_slope_band_mm2`]).
    pub fn with_wide_step(self, step_mm: f64) -> LayerPlan {
        LayerPlan {
            min_wide_step_mm: step_mm,
            ..self
        }
    }

    pub fn first_layer_height_mm(&self) -> f64 {
        self.first_layer_height_mm
    }

    pub fn layer_height_mm(&self) -> f64 {
        self.layer_height_mm
    }

    /// The bottom of layer `index` above the plate.
    fn bottom(&self, index: usize) -> f64 {
        if index == 0 {
            0.0
        } else {
            self.first_layer_height_mm + (index - 1) as f64 * self.layer_height_mm
        }
    }

    fn height(&self, index: usize) -> f64 {
        if index == 0 {
            self.first_layer_height_mm
        } else {
            self.layer_height_mm
        }
    }

    /// The height of the cutting plane of layer `index`.
    fn cut(&self, index: usize) -> f64 {
        self.bottom(index) + self.height(index) / 2.0
    }

    /// The number of layers a part of `height_mm` needs: the last one reaches its top.
    fn n_layers(&self, height_mm: f64) -> usize {
        if height_mm <= self.first_layer_height_mm {
            return 1;
        }
        // A part's height a hair above a whole number of layers does not earn another layer.
        let above_first = (height_mm - self.first_layer_height_mm) / self.layer_height_mm;
        1 + (above_first - 1e-9).ceil().max(0.0) as usize
    }

    /// The first layer whose cutting plane is above `z`, among the planes `cuts` (the plan's,
    /// in order; `cuts.len()` when none is above).
    fn first_cut_above(&self, cuts: &[f64], z: f64) -> usize {
        let above =
            (z - self.first_layer_height_mm - self.layer_height_mm / 2.0) / self.layer_height_mm;
        let mut index = if z < self.first_layer_height_mm / 2.0 {
            0
        } else {
            (1 + above.floor().max(0.0) as usize).min(cuts.len())
        };
        // Correct the float rounding of the division by one step either way.
        while index > 0 && cuts[index - 1] > z {
            index -= 1;
        }
        while index < cuts.len() && cuts[index] <= z {
            index += 1;
        }
        index
    }
}

/// Cuts every layer of the mesh.
pub fn slice(mesh: &Mesh, plan: &LayerPlan) -> Slices {
    let positions = mesh.positions();
    let Some(z_min) = positions.iter().map(|p| f64::from(p[2])).reduce(f64::min) else {
        return Slices {
            layers: Vec::new(),
            first_layer_hull: Vec::new(),
        };
    };
    let z_max = positions
        .iter()
        .map(|p| f64::from(p[2]))
        .fold(z_min, f64::max);
    let n_layers = plan.n_layers(z_max - z_min);
    // Coordinates relative to a point of the part keep the shoelace terms small.
    let origin = positions[0].map(f64::from);
    let local = |v: u32| {
        let p = positions[v as usize];
        [
            f64::from(p[0]) - origin[0],
            f64::from(p[1]) - origin[1],
            f64::from(p[2]) - z_min,
        ]
    };
    let neighbours = mesh.neighbours();
    let limits = corner_limits();
    let cuts: Vec<f64> = (0..n_layers).map(|index| plan.cut(index)).collect();
    // Shells pushed into each other print as one: where bodies overlap, the contours of the
    // shells involved are kept to unite them.
    let involved = union::involved_shells(mesh, &local);
    let shell_of_face = &mesh.shells().of_face;
    // Per vertex, the planes at or below it (the first plane above it): a face is crossed by
    // the planes from its lowest corner's first plane above up to its highest's, none when
    // they are the same (most faces of a fine mesh), which three lookups tell.
    let first_above: Vec<u32> = positions
        .par_iter()
        .with_min_len(CHUNK)
        .map(|p| plan.first_cut_above(&cuts, f64::from(p[2]) - z_min) as u32)
        .collect();
    let chunks: Vec<ChunkSums> = mesh
        .triangles()
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(chunk, triangles)| {
            let mut sums = vec![LayerSums::default(); n_layers];
            // Segments that enter their face across an edge with no partner face: where the
            // open chains of an open mesh's contours begin.
            let mut open_starts = Vec::new();
            let mut kept = Vec::new();
            let mut first_layer = Vec::new();
            for (offset, triangle) in triangles.iter().enumerate() {
                // A plane crosses the triangle when it lies in (low, high] of its corners'
                // heights: corners on the plane count as above it, here and in
                // `cut_triangle`, so a plane through a ring of vertices is cut once, by the
                // faces below the ring.
                let [a, b, c] = triangle.map(|v| first_above[v as usize]);
                let (first_layer_crossed, past) = (a.min(b).min(c), a.max(b).max(c));
                if first_layer_crossed == past {
                    continue;
                }
                let face = chunk * CHUNK + offset;
                let union_shell = involved.as_ref().and_then(|involved| {
                    let shell = shell_of_face[face];
                    involved[shell as usize].then_some(shell)
                });
                let corners = triangle.map(local);
                // A face crossed by many planes turns the same way at each: its corner bins
                // are found once, when first needed.
                let mut own_normal = None;
                let mut bins: [Option<(Option<u8>, i32)>; 3] = [None; 3];
                // The face's horizontal step per unit of height: its normal's vertical part over
                // its horizontal part (capped for a face almost flat).
                let step_per_height = {
                    let [a, b, c] = corners;
                    let n = face_normal(a, b, c);
                    let horizontal = n[0].hypot(n[1]);
                    if horizontal > 0.0 {
                        (n[2].abs() / horizontal).min(MAX_STEP_PER_HEIGHT)
                    } else {
                        MAX_STEP_PER_HEIGHT
                    }
                };
                for layer in first_layer_crossed as usize..past as usize {
                    if let Some((p, q, start_edge, end_edge)) = cut_triangle(&corners, cuts[layer])
                    {
                        let (open_start, open_end) = (
                            neighbours[face][start_edge] == u32::MAX,
                            neighbours[face][end_edge] == u32::MAX,
                        );
                        if open_start {
                            open_starts.push((layer as u32, face as u32));
                        }
                        if let Some(shell) = union_shell {
                            kept.push(union::Segment {
                                layer: layer as u32,
                                shell,
                                open: open_start || open_end,
                                p,
                                q,
                            });
                        }
                        if layer == 0 {
                            first_layer.extend([p, q]);
                        }
                        let layer_sums = &mut sums[layer];
                        layer_sums.area2 += p[0] * q[1] - q[0] * p[1];
                        let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
                        let length = (dx * dx + dy * dy).sqrt();
                        layer_sums.contour += length;
                        let step = step_per_height * plan.height(layer);
                        layer_sums.slope_band += length * step;
                        if step >= plan.min_wide_step_mm {
                            layer_sums.wide_slope_band += length * step;
                        }
                        // The corner where this segment meets the next one, counted once.
                        let (bin, euler) = *bins[end_edge].get_or_insert_with(|| {
                            let own =
                                *own_normal.get_or_insert_with(|| horizontal_normal(mesh, face));
                            junction(mesh, &limits, own, neighbours[face][end_edge])
                        });
                        if let Some(bin) = bin {
                            layer_sums.corners[bin as usize] += 1;
                        }
                        layer_sums.euler += euler;
                    }
                }
            }
            (sums, open_starts, kept, first_layer)
        })
        .collect();
    let mut totals = vec![LayerSums::default(); n_layers];
    let mut open_starts = Vec::new();
    let mut kept = Vec::new();
    let mut first_layer = Vec::new();
    for (chunk, starts, segments, points) in chunks {
        first_layer.extend(points);
        open_starts.extend_from_slice(&starts);
        kept.push(segments);
        for (total, sum) in totals.iter_mut().zip(&chunk) {
            total.area2 += sum.area2;
            total.contour += sum.contour;
            total.slope_band += sum.slope_band;
            total.euler += sum.euler;
            total.wide_slope_band += sum.wide_slope_band;
            for (t, c) in total.corners.iter_mut().zip(sum.corners) {
                *t += c;
            }
        }
    }
    // Open contours are joined or dropped as the slicer does.
    for (layer, correction) in open::corrections(mesh, &cuts, &local, cut_triangle, open_starts) {
        totals[layer].area2 += correction.area2;
        totals[layer].contour += correction.contour;
    }
    // The walls inside the union of overlapping bodies are no walls.
    for (layer, area2, contour) in union::inner_walls(kept, n_layers) {
        totals[layer].area2 -= area2;
        totals[layer].contour -= contour;
    }
    let layers = totals
        .iter()
        .enumerate()
        .map(|(index, sums)| Layer {
            top_mm: plan.bottom(index) + plan.height(index),
            height_mm: plan.height(index),
            area_mm2: sums.area2 / 2.0,
            contour_mm: sums.contour,
            corner_turns: sums.corners,
            slope_band_mm2: sums.slope_band,
            wide_slope_band_mm2: sums.wide_slope_band,
            euler: sums.euler,
        })
        .collect();
    let first_layer_hull = convex_hull(first_layer)
        .into_iter()
        .map(|[x, y]| [x + origin[0], y + origin[1]])
        .collect();
    Slices {
        layers,
        first_layer_hull,
    }
}

/// The convex hull of `points`, counter-clockwise, without collinear points (Andrew's
/// monotone chain).
pub fn convex_hull(mut points: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    points.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let turn = |o: [f64; 2], a: [f64; 2], b: [f64; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let chain = |ordered: &mut dyn Iterator<Item = [f64; 2]>| {
        let mut chain: Vec<[f64; 2]> = Vec::new();
        for p in ordered {
            while chain.len() >= 2 && turn(chain[chain.len() - 2], chain[chain.len() - 1], p) <= 0.0
            {
                chain.pop();
            }
            chain.push(p);
        }
        // Its last point starts the other chain.
        chain.pop();
        chain
    };
    let mut hull = chain(&mut points.iter().copied());
    hull.extend(chain(&mut points.iter().rev().copied()));
    hull
}

/// The length around a closed polygon.
pub fn perimeter(polygon: &[[f64; 2]]) -> f64 {
    (0..polygon.len())
        .map(|k| {
            let (a, b) = (polygon[k], polygon[(k + 1) % polygon.len()]);
            (b[0] - a[0]).hypot(b[1] - a[1])
        })
        .sum()
}

/// Where the plane at height `z` crosses the triangle: the segment from the point where an edge
/// goes down through the plane to the point where an edge comes up through it (corners at the
/// plane count as above it), so that the contour of an outward-facing surface runs
/// counter-clockwise seen from above. Also the two edges crossed, in that order.
fn cut_triangle(corners: &[[f64; 3]; 3], z: f64) -> Option<([f64; 2], [f64; 2], usize, usize)> {
    // Which corners are below the plane picks the two edges it crosses: edge k runs from
    // corner k to corner k + 1, and goes down through the plane when k is above and k + 1
    // below. Indexed by the below-corners' bits: (the edge going down, the edge coming up).
    const CROSSED: [Option<(usize, usize)>; 8] = [
        None,
        Some((2, 0)),
        Some((0, 1)),
        Some((2, 1)),
        Some((1, 2)),
        Some((1, 0)),
        Some((0, 2)),
        None,
    ];
    const NEXT: [usize; 3] = [1, 2, 0];
    let below = usize::from(corners[0][2] < z)
        | usize::from(corners[1][2] < z) << 1
        | usize::from(corners[2][2] < z) << 2;
    let (down, up) = CROSSED[below]?;
    let point = |k: usize| {
        let (a, b) = (corners[k], corners[NEXT[k]]);
        let t = (z - a[2]) / (b[2] - a[2]);
        [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
    };
    Some((point(down), point(up), down, up))
}

/// What a chunk of faces adds up: its sums per layer, where its open chains start
/// (`(layer, face)`), the segments kept for uniting overlapping bodies, and the ends of its
/// first layer's segments.
type ChunkSums = (
    Vec<LayerSums>,
    Vec<(u32, u32)>,
    Vec<union::Segment>,
    Vec<[f64; 2]>,
);

#[derive(Debug, Clone, Copy, Default)]
struct LayerSums {
    area2: f64,
    contour: f64,
    corners: [u32; CORNER_BINS],
    slope_band: f64,
    wide_slope_band: f64,
    euler: i32,
}

/// A face steeper than this many millimetres of step per millimetre of height counts as this
/// (an almost flat face crossed by a plane).
const MAX_STEP_PER_HEIGHT: f64 = 100.0;

/// The corner bins' lower limits as cosines: bin `k` starts at a turn of `MIN_CORNER_DEG + 20 k`
/// degrees, and a cosine falls as the turn grows.
fn corner_limits() -> [f64; CORNER_BINS] {
    std::array::from_fn(|k| (MIN_CORNER_DEG + 20.0 * k as f64).to_radians().cos())
}

/// The unit horizontal part of a face's normal; `None` for a nearly horizontal face.
fn horizontal_normal(mesh: &Mesh, face: usize) -> Option<[f64; 2]> {
    let [a, b, c] = mesh.corners(face).map(|p| p.map(f64::from));
    let n = face_normal(a, b, c);
    let horizontal = (n[0] * n[0] + n[1] * n[1]).sqrt();
    let total = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    (horizontal > 1e-6 * total).then(|| [n[0] / horizontal, n[1] / horizontal])
}

/// The corner bin of the turn a contour makes where a plane crosses the edge between a face
/// (horizontal normal `own`) and `other`: the angle between their horizontal normals. `None`
/// for gentle turns, an edge without exactly one neighbour (`other` is `u32::MAX`), and nearly
/// horizontal faces.
///
/// Also what the point adds to the cross-section's Euler characteristic: a contour runs along
/// `(-n_y, n_x)` of its face's outward horizontal normal `n`, the part on its left. Where it
/// stops going down (`n_x < 0 <= m_x`) turning left (`n x m > 0`), the part is above it: a
/// piece begins there, sweeping upwards (+1); where it stops going up (`n_x > 0 >= m_x`)
/// turning right, the part is above it too: two branches join over a hole or a notch (-1).
/// The other turning points (the part below them) change nothing.
fn junction(
    mesh: &Mesh,
    limits: &[f64; CORNER_BINS],
    own: Option<[f64; 2]>,
    other: u32,
) -> (Option<u8>, i32) {
    if other == u32::MAX {
        return (None, 0);
    }
    let (Some(n), Some(m)) = (own, horizontal_normal(mesh, other as usize)) else {
        return (None, 0);
    };
    let cos = n[0] * m[0] + n[1] * m[1];
    let bin = limits
        .iter()
        .rposition(|&limit| cos <= limit)
        .map(|bin| bin as u8);
    let turn = n[0] * m[1] - n[1] * m[0];
    let euler = if n[0] < 0.0 && m[0] >= 0.0 && turn > 0.0 {
        1
    } else if n[0] > 0.0 && m[0] <= 0.0 && turn < 0.0 {
        -1
    } else {
        0
    };
    (bin, euler)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interior points, points on the edges and repeats are not hull vertices; the hull runs
    /// counter-clockwise.
    #[test]
    fn convex_hull_keeps_the_corners_only() {
        let mut points = vec![[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]];
        points.extend([[2.0, 0.0], [4.0, 1.5], [1.0, 1.0], [3.0, 2.0], [0.0, 0.0]]);
        points.reverse();
        let hull = convex_hull(points);
        assert_eq!(hull, vec![[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]]);
        assert_eq!(perimeter(&hull), 14.0);
        assert_eq!(convex_hull(vec![[1.0, 1.0], [1.0, 1.0]]), vec![[1.0, 1.0]]);
        assert!(convex_hull(Vec::new()).is_empty());
    }

    #[test]
    fn layer_arithmetic() {
        let plan = LayerPlan::new(0.3, 0.2).expect("valid");
        assert!(LayerPlan::new(0.0, 0.2).is_err() && LayerPlan::new(0.2, f64::NAN).is_err());
        assert_eq!(plan.n_layers(0.1), 1);
        assert_eq!(plan.n_layers(0.3), 1);
        assert_eq!(plan.n_layers(0.31), 2);
        assert_eq!(plan.n_layers(10.1), 50);
        assert_eq!(plan.n_layers(10.1 + 1e-12), 50);
        let cuts: Vec<f64> = (0..50).map(|index| plan.cut(index)).collect();
        for z in [-1.0, 0.0, 0.149, 0.15, 0.151, 0.3, 0.4, 0.40001, 5.0, 9.99] {
            let index = plan.first_cut_above(&cuts, z);
            assert!(plan.cut(index) > z, "{z}: layer {index}");
            assert!(index == 0 || plan.cut(index - 1) <= z, "{z}: layer {index}");
        }
        // Exactly on a plane: that plane is not above.
        let on_plane = plan.cut(7);
        assert_eq!(plan.first_cut_above(&cuts, on_plane), 8);
        // Above every plane.
        assert_eq!(plan.first_cut_above(&cuts, 100.0), 50);
        assert_eq!(plan.first_cut_above(&cuts, plan.cut(49)), 50);
    }
}
