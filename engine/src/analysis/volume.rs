//! Volume, area, centroid and bounding box, in f64.
//!
//! The signed volume is the sum of the tetrahedra each face spans with a reference point. On a
//! closed surface the sum does not depend on the point; we use the centre of the bounding box,
//! so that a part far from the origin loses no precision to cancellation (a part at x = 10^6
//! would otherwise sum terms a million times larger than its volume) and so that the volume of
//! an open surface does not change when the part is moved.
//!
//! Sums are taken over fixed chunks of faces and then added in chunk order, so the result is
//! the same whatever the number of threads.

use rayon::prelude::*;

use crate::mesh::Mesh;

pub(crate) const CHUNK: usize = 4096;

/// Sums over a set of faces, relative to the reference point.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    /// Six times the signed volume.
    pub(crate) volume6: f64,
    /// Twice the area.
    pub(crate) area2: f64,
    /// Σ 6V·(a + b + c): four times the first moment of volume.
    pub(crate) moment: [f64; 3],
    /// Σ 2A·(a + b + c): three times the first moment of area.
    pub(crate) area_moment: [f64; 3],
    pub(crate) n_triangles: u64,
    /// Faces of exactly zero area (three distinct but collinear corners).
    pub(crate) zero_area: u64,
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.volume6 += other.volume6;
        self.area2 += other.area2;
        for axis in 0..3 {
            self.moment[axis] += other.moment[axis];
            self.area_moment[axis] += other.area_moment[axis];
        }
        self.n_triangles += other.n_triangles;
        self.zero_area += other.zero_area;
    }

    /// Turns the sums inside out (every face flipped).
    pub(crate) fn flip(&mut self) {
        self.volume6 = -self.volume6;
        self.moment = self.moment.map(|m| -m);
    }

    #[inline]
    fn face(&mut self, a: [f64; 3], b: [f64; 3], c: [f64; 3]) {
        let ab = sub(b, a);
        let ac = sub(c, a);
        let normal = cross(ab, ac);
        let area2 = dot(normal, normal).sqrt();
        let volume6 = dot(a, cross(b, c));
        self.volume6 += volume6;
        self.area2 += area2;
        for axis in 0..3 {
            let sum = a[axis] + b[axis] + c[axis];
            self.moment[axis] += volume6 * sum;
            self.area_moment[axis] += area2 * sum;
        }
        self.n_triangles += 1;
        self.zero_area += u64::from(area2 == 0.0);
    }
}

/// The axis-aligned bounding box of the mesh's vertices.
pub(crate) fn bounding_box(positions: &[[f32; 3]]) -> ([f64; 3], [f64; 3]) {
    let (min, max) = positions
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut min = [f32::INFINITY; 3];
            let mut max = [f32::NEG_INFINITY; 3];
            for p in chunk {
                for axis in 0..3 {
                    min[axis] = min[axis].min(p[axis]);
                    max[axis] = max[axis].max(p[axis]);
                }
            }
            (min, max)
        })
        .reduce(
            || ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
            |(amin, amax), (bmin, bmax)| {
                (
                    std::array::from_fn(|i| amin[i].min(bmin[i])),
                    std::array::from_fn(|i| amax[i].max(bmax[i])),
                )
            },
        );
    (min.map(f64::from), max.map(f64::from))
}

/// Sums over all faces and per shell.
pub(crate) struct MassProperties {
    pub(crate) per_shell: Vec<Sums>,
}

/// `reference` is the point the tetrahedra are measured from; `shell_of_face` numbers the
/// shells `0..n_shells`.
/// `flipped`, when given, marks faces to count with the opposite orientation.
pub(crate) fn mass_properties(
    mesh: &Mesh,
    reference: [f64; 3],
    shell_of_face: &[u32],
    n_shells: usize,
    flipped: Option<&[bool]>,
) -> MassProperties {
    let positions = mesh.positions();
    let triangles = mesh.triangles();
    let local = |v: u32| {
        let p = positions[v as usize];
        [
            f64::from(p[0]) - reference[0],
            f64::from(p[1]) - reference[1],
            f64::from(p[2]) - reference[2],
        ]
    };
    // Each chunk reports its sums as runs of consecutive faces in one shell: files list a
    // shell's faces together, so a chunk usually yields one or two runs.
    let chunks: Vec<Vec<(u32, Sums)>> = triangles
        .par_chunks(CHUNK)
        .zip(shell_of_face.par_chunks(CHUNK))
        .enumerate()
        .map(|(chunk, (faces, shells))| {
            let mut runs: Vec<(u32, Sums)> = Vec::new();
            let mut start = 0;
            // Each run's sums are a local, so that they stay in registers.
            for run_shells in shells.chunk_by(|a, b| a == b) {
                let end = start + run_shells.len();
                let mut sums = Sums::default();
                for (offset, triangle) in faces[start..end].iter().enumerate() {
                    let [a, b, c] = triangle.map(local);
                    match flipped {
                        Some(f) if f[chunk * CHUNK + start + offset] => sums.face(a, c, b),
                        _ => sums.face(a, b, c),
                    }
                }
                runs.push((run_shells[0], sums));
                start = end;
            }
            runs
        })
        .collect();
    let mut per_shell = vec![Sums::default(); n_shells];
    for (shell, sums) in chunks.iter().flatten() {
        per_shell[*shell as usize].add(sums);
    }
    MassProperties { per_shell }
}

impl MassProperties {
    /// The sums over all shells, added in shell order.
    pub(crate) fn total(&self) -> Sums {
        let mut total = Sums::default();
        for shell in &self.per_shell {
            total.add(shell);
        }
        total
    }
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
