//! Orientation: the ways a part can stand on the build plate, to be priced against each other.
//!
//! A candidate is the direction, in the model's own frame, that will point down. Candidates come
//! from, in this order: the orientation of the file; the largest faces of the convex hull (a part
//! rests stably on its hull, as in PrusaSlicer's SLA optimiser and Tweaker-3); the dominant
//! area-weighted face normals (flat faces down need no support); the six axis directions.
//! Directions within `SAME_DIRECTION_DEG` of an earlier candidate are dropped.

use parry3d::math::Vector;
use parry3d::transformation::try_convex_hull;
use rayon::prelude::*;

use crate::mesh::Mesh;

/// Two directions closer than this are one candidate.
pub const SAME_DIRECTION_DEG: f64 = 2.0;
/// Candidates taken from each of the hull and the face normals.
const PER_SOURCE: usize = 8;

/// Where a candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// As the file places the part.
    File,
    HullFace,
    FaceNormal,
    Axis,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::HullFace => "hull_face",
            Source::FaceNormal => "face_normal",
            Source::Axis => "axis",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Unit direction in the model's frame that will point down (-z).
    pub down: [f64; 3],
    pub source: Source,
}

/// The candidate orientations of a mesh, the file's own first.
pub fn candidates(mesh: &Mesh) -> Vec<Candidate> {
    candidates_and_hull(mesh).0
}

/// The candidates, and the indices of the vertices that stand for the convex hull (see
/// [`hull_point_indices`]), found once for both.
pub(crate) fn candidates_and_hull(mesh: &Mesh) -> (Vec<Candidate>, Vec<usize>) {
    let hull = hull_point_indices(mesh);
    let mut out = vec![Candidate {
        down: [0.0, 0.0, -1.0],
        source: Source::File,
    }];
    let push = |down: [f64; 3], source: Source, out: &mut Vec<Candidate>| {
        let Some(down) = unit(down) else { return };
        let cos_same = SAME_DIRECTION_DEG.to_radians().cos();
        if out.iter().all(|c| dot(c.down, down) < cos_same) {
            out.push(Candidate { down, source });
        }
    };
    for down in largest_directions(hull_faces(mesh, &hull)) {
        push(down, Source::HullFace, &mut out);
    }
    let faces = (0..mesh.triangles().len()).map(|idx| mesh.corners(idx).map(|p| p.map(f64::from)));
    for down in largest_directions(faces.map(|[a, b, c]| cross(sub(b, a), sub(c, a))).collect()) {
        push(down, Source::FaceNormal, &mut out);
    }
    for down in [
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
    ] {
        push(down, Source::Axis, &mut out);
    }
    (out, hull)
}

/// Above this many vertices, the hull is built from extreme points only.
const EXACT_HULL_MAX_VERTICES: usize = 4096;
/// Directions whose extreme vertices stand in for a large mesh's hull.
const HULL_DIRECTIONS: usize = 256;
/// Vertices per block in the search for extreme vertices.
const HULL_BLOCK: usize = 256;

/// The doubled-area normals of the convex hull's faces (none if the hull cannot be built, for
/// a flat or degenerate part).
///
/// For a large mesh the hull is built from the vertices that are extreme along
/// `HULL_DIRECTIONS` directions spread evenly over the sphere (a Fibonacci lattice): the corners
/// of the large flat faces that matter here are extreme around their normals, while quickhull on
/// a dense curved surface (every vertex of a sphere is on its hull) takes about a second.
fn hull_faces(mesh: &Mesh, chosen: &[usize]) -> Vec<[f64; 3]> {
    let positions = mesh.positions();
    let points: Vec<Vector> = chosen
        .iter()
        .map(|&idx| positions[idx])
        .map(|p| Vector::new(p[0], p[1], p[2]))
        .collect();
    let Ok((vertices, faces)) = try_convex_hull(&points) else {
        return Vec::new();
    };
    let at = |v: u32| vertices[v as usize].to_array().map(f64::from);
    faces
        .iter()
        .map(|f| cross(sub(at(f[1]), at(f[0])), sub(at(f[2]), at(f[0]))))
        .collect()
}

/// The vertices that stand for the convex hull: all of them for a small mesh, else those that
/// are extreme along `HULL_DIRECTIONS` directions.
///
/// A mesh's vertices come in runs that lie close together, so they are taken in blocks of
/// `HULL_BLOCK` with their bounding boxes: along a direction, no vertex of a block reaches
/// further than its box's farthest corner, and blocks are searched from the farthest corner
/// down until the next one cannot beat the best vertex found. The answer is exactly the full
/// search's (the corner's projection bounds every vertex's, computed the same way).
pub(crate) fn hull_point_indices(mesh: &Mesh) -> Vec<usize> {
    let positions = mesh.positions();
    if positions.len() <= EXACT_HULL_MAX_VERTICES {
        return (0..positions.len()).collect();
    }
    let blocks: Vec<([f64; 3], [f64; 3])> = positions
        .chunks(HULL_BLOCK)
        .map(|block| {
            let mut lo = [f64::INFINITY; 3];
            let mut hi = [f64::NEG_INFINITY; 3];
            for p in block {
                for axis in 0..3 {
                    lo[axis] = lo[axis].min(f64::from(p[axis]));
                    hi[axis] = hi[axis].max(f64::from(p[axis]));
                }
            }
            (lo, hi)
        })
        .collect();
    let mut chosen: Vec<usize> = (0..HULL_DIRECTIONS)
        .into_par_iter()
        .map(|k| {
            let d = hull_direction(k);
            let along = |p: [f64; 3]| d[0] * p[0] + d[1] * p[1] + d[2] * p[2];
            let mut reach: Vec<(f64, usize)> = blocks
                .iter()
                .enumerate()
                .map(|(b, (lo, hi))| {
                    let corner = std::array::from_fn(|i| if d[i] >= 0.0 { hi[i] } else { lo[i] });
                    (along(corner), b)
                })
                .collect();
            reach.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            // The first of the farthest, so that ties never depend on scheduling.
            let mut best = (usize::MAX, f64::NEG_INFINITY);
            for (bound, b) in reach {
                if bound < best.1 || (bound == best.1 && b * HULL_BLOCK > best.0) {
                    break;
                }
                let first = b * HULL_BLOCK;
                for (offset, p) in positions[first..].iter().take(HULL_BLOCK).enumerate() {
                    let value = along(p.map(f64::from));
                    let idx = first + offset;
                    if value > best.1 || (value == best.1 && idx < best.0) {
                        best = (idx, value);
                    }
                }
            }
            best.0
        })
        .collect();
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// Direction `k` of `HULL_DIRECTIONS` spread evenly over the sphere (a Fibonacci lattice).
fn hull_direction(k: usize) -> [f64; 3] {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    let z = 1.0 - 2.0 * (k as f64 + 0.5) / HULL_DIRECTIONS as f64;
    let r = (1.0 - z * z).sqrt();
    [
        r * (golden * k as f64).cos(),
        r * (golden * k as f64).sin(),
        z,
    ]
}

/// The directions carrying the most area, from doubled-area normals: normals are grouped in
/// bins about `SAME_DIRECTION_DEG` wide, and each bin's area-weighted mean direction is
/// returned, largest area first, at most `PER_SOURCE`.
fn largest_directions(normals: Vec<[f64; 3]>) -> Vec<[f64; 3]> {
    use std::collections::HashMap;
    let bin = SAME_DIRECTION_DEG.to_radians();
    let mut bins: HashMap<[i64; 3], ([f64; 3], f64)> = HashMap::new();
    for n in normals {
        let area = dot(n, n).sqrt();
        let Some(u) = unit(n) else { continue };
        let key = u.map(|v| (v / bin).round() as i64);
        let entry = bins.entry(key).or_insert(([0.0; 3], 0.0));
        entry.0 = [entry.0[0] + n[0], entry.0[1] + n[1], entry.0[2] + n[2]];
        entry.1 += area;
    }
    let mut ranked: Vec<([i64; 3], [f64; 3], f64)> = bins
        .into_iter()
        .map(|(key, (sum, area))| (key, sum, area))
        .collect();
    // Largest area first; ties by bin, so that the order never depends on hashing.
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .take(PER_SOURCE)
        .filter_map(|(_, sum, _)| unit(sum))
        .collect()
}

/// The rotation matrix that turns `down` (a unit vector) to -z.
pub fn rotation_to_down(down: [f64; 3]) -> [[f64; 3]; 3] {
    let target = [0.0, 0.0, -1.0];
    let cos = dot(down, target);
    if cos > 1.0 - 1e-12 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    if cos < -1.0 + 1e-12 {
        // Upside down: half a turn about x.
        return [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]];
    }
    // Rodrigues: R = I + [k]x + [k]x^2 / (1 + cos), with k = down x target.
    let k = cross(down, target);
    let kx = [[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]];
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let square: f64 = (0..3).map(|m| kx[i][m] * kx[m][j]).sum();
            r[i][j] = f64::from(u8::from(i == j)) + kx[i][j] + square / (1.0 + cos);
        }
    }
    r
}

/// The mesh stood on `candidate`: rotated so that its `down` points to -z.
pub fn orient(mesh: &Mesh, candidate: &Candidate) -> Mesh {
    if candidate.source == Source::File {
        return mesh.clone();
    }
    mesh.rotated(rotation_to_down(candidate.down))
}

fn unit(v: [f64; 3]) -> Option<[f64; 3]> {
    let length = dot(v, v).sqrt();
    (length > 0.0 && length.is_finite()).then(|| v.map(|x| x / length))
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::{Format, LoadOptions};

    /// The first vertex farthest along each direction, by looking at every vertex.
    fn extreme_vertices_by_brute_force(mesh: &Mesh) -> Vec<usize> {
        let mut chosen: Vec<usize> = (0..HULL_DIRECTIONS)
            .map(|k| {
                let d = hull_direction(k);
                let mut best = (0, f64::NEG_INFINITY);
                for (idx, p) in mesh.positions().iter().enumerate() {
                    let value =
                        d[0] * f64::from(p[0]) + d[1] * f64::from(p[1]) + d[2] * f64::from(p[2]);
                    if value > best.1 {
                        best = (idx, value);
                    }
                }
                best.0
            })
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    #[test]
    fn pruned_extreme_vertices_are_the_brute_force_ones() {
        // A lattice of tetrahedra on whole millimetres: vertices tie along many directions'
        // projections, so the first of the farthest must be found across blocks.
        let mut triangles = Vec::new();
        for i in 0..20 {
            for j in 0..20 {
                for k in 0..4 {
                    let at = |x: f32, y: f32, z: f32| {
                        [2.0 * i as f32 + x, 2.0 * j as f32 + y, 2.0 * k as f32 + z]
                    };
                    let [o, x, y, z] = [
                        at(0., 0., 0.),
                        at(1., 0., 0.),
                        at(0., 1., 0.),
                        at(0., 0., 1.),
                    ];
                    triangles.extend([[o, y, x], [o, x, z], [o, z, y], [x, y, z]]);
                }
            }
        }
        let lattice = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("lattice");
        assert!(lattice.positions().len() > EXACT_HULL_MAX_VERTICES);
        assert_eq!(
            hull_point_indices(&lattice),
            extreme_vertices_by_brute_force(&lattice)
        );
        // And large real models (CI always has the shared folder).
        let Some(dir) = crate::shared_models() else {
            return;
        };
        for name in [
            "cura__UltimakerRobot_support.stl",
            "voron2__Thread_Test_1_x1_Rev1.STL",
            "voron2__Octopus_bracket_set.stl",
        ] {
            let bytes = std::fs::read(dir.join(name)).expect("shared model");
            let mesh = crate::mesh::parse(&bytes, &LoadOptions::default()).expect("model");
            assert_eq!(
                hull_point_indices(&mesh),
                extreme_vertices_by_brute_force(&mesh),
                "{name}"
            );
        }
    }
}
