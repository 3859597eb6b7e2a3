//! Which closed shells lie inside which: a shell with negative volume is a void when an odd
//! number of other closed shells enclose it, and inside out otherwise.
//!
//! A ray from one vertex of the shell in a fixed, deliberately irregular direction is tested
//! against every face of the other closed shells (Möller–Trumbore in f64); an odd number of
//! crossings of a shell means that shell encloses the point.

use rayon::prelude::*;

use super::volume::{CHUNK, cross, dot, sub};
use crate::mesh::Mesh;

/// An irregular direction, so that rays almost never graze an edge or a vertex of an
/// axis-aligned model.
const DIRECTION: [f64; 3] = [0.872_596_6, 0.391_127_3, 0.292_421_7];

/// The most (candidate, closed shell) pairs checked, which bounds the parity tables.
pub(crate) const MAX_PAIRS: usize = 1 << 16;

/// For each candidate `(shell, point)`, how many other closed shells enclose the point.
/// `closed_index[shell]` numbers the closed shells `0..n_closed`, or is `u32::MAX`.
pub(crate) fn enclosing_counts(
    mesh: &Mesh,
    shell_of_face: &[u32],
    closed_index: &[u32],
    n_closed: usize,
    candidates: &[(u32, [f64; 3])],
) -> Vec<u32> {
    let n_shells = n_closed;
    // Parity of crossings per (candidate, shell).
    let parity = mesh
        .triangles()
        .par_chunks(CHUNK)
        .zip(shell_of_face.par_chunks(CHUNK))
        .fold(
            || vec![false; candidates.len() * n_shells],
            |mut parity, (faces, shells)| {
                for (triangle, &shell) in faces.iter().zip(shells) {
                    let closed = closed_index[shell as usize];
                    if closed == u32::MAX {
                        continue;
                    }
                    let corners = triangle.map(|v| mesh.positions()[v as usize].map(f64::from));
                    for (k, (own_shell, origin)) in candidates.iter().enumerate() {
                        if *own_shell != shell && crosses(*origin, corners) {
                            let slot = &mut parity[k * n_shells + closed as usize];
                            *slot = !*slot;
                        }
                    }
                }
                parity
            },
        )
        .reduce(
            || vec![false; candidates.len() * n_shells],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x ^= y);
                a
            },
        );
    (0..candidates.len())
        .map(|k| {
            parity[k * n_shells..(k + 1) * n_shells]
                .iter()
                .filter(|odd| **odd)
                .count() as u32
        })
        .collect()
}

/// Whether the ray from `origin` along `DIRECTION` crosses the triangle.
fn crosses(origin: [f64; 3], [a, b, c]: [[f64; 3]; 3]) -> bool {
    let ab = sub(b, a);
    let ac = sub(c, a);
    let p = cross(DIRECTION, ac);
    let det = dot(ab, p);
    if det == 0.0 {
        return false;
    }
    let inv = 1.0 / det;
    let t_vec = sub(origin, a);
    let u = dot(t_vec, p) * inv;
    if !(0.0..=1.0).contains(&u) {
        return false;
    }
    let q = cross(t_vec, ab);
    let v = dot(DIRECTION, q) * inv;
    if v < 0.0 || u + v > 1.0 {
        return false;
    }
    dot(ac, q) * inv > 0.0
}
