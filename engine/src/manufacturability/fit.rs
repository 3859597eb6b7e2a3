//! Does the part fit the machine: as it is oriented (turned on the plate if need be), else in
//! another candidate orientation?
//!
//! Only the convex hull's vertices matter for the extents, so the check uses the hull points of
//! [`orientation`](crate::orientation). The footprint is tried turned about z from 0 to 90
//! degrees in `TURN_STEP_DEG` steps (a turn by 90 more only swaps the axes, which is tried too).

use crate::mesh::Mesh;
use crate::orientation::{self, Candidate};

const TURN_STEP_DEG: f64 = 1.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Fit {
    /// Fits as oriented, turned on the plate by this angle (0 when as is).
    Fits { turned_deg: f64 },
    /// Fits only stood on another candidate, turned by this angle.
    FitsReoriented {
        candidate: Candidate,
        turned_deg: f64,
    },
    /// Fits in no candidate orientation; its size as oriented, for the message.
    TooLarge {
        size_mm: [f64; 3],
        build_volume_mm: [f64; 3],
    },
}

/// Where `points` fit `build_volume_mm` when turned about z, the smallest turn first.
pub(crate) fn turn_that_fits(points: &[[f64; 3]], build_volume_mm: [f64; 3]) -> Option<f64> {
    let extent = |values: &mut dyn Iterator<Item = f64>| {
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        high - low
    };
    if extent(&mut points.iter().map(|p| p[2])) > build_volume_mm[2] {
        return None;
    }
    let steps = (90.0 / TURN_STEP_DEG) as usize;
    (0..steps)
        .map(|k| k as f64 * TURN_STEP_DEG)
        .find(|&degrees| {
            let (sin, cos) = degrees.to_radians().sin_cos();
            let x = extent(&mut points.iter().map(|p| cos * p[0] - sin * p[1]));
            let y = extent(&mut points.iter().map(|p| sin * p[0] + cos * p[1]));
            (x <= build_volume_mm[0] && y <= build_volume_mm[1])
                || (y <= build_volume_mm[0] && x <= build_volume_mm[1])
        })
}

/// Checks the part against a build volume (x, y, z in millimetres).
pub fn fit(mesh: &Mesh, build_volume_mm: [f64; 3]) -> Fit {
    let points: Vec<[f64; 3]> = orientation::hull_point_indices(mesh)
        .into_iter()
        .map(|idx| mesh.positions()[idx].map(f64::from))
        .collect();
    for candidate in orientation::candidates(mesh) {
        let r = orientation::rotation_to_down(candidate.down);
        let turned: Vec<[f64; 3]> = points
            .iter()
            .map(|p| std::array::from_fn(|i| r[i][0] * p[0] + r[i][1] * p[1] + r[i][2] * p[2]))
            .collect();
        if let Some(turned_deg) = turn_that_fits(&turned, build_volume_mm) {
            return match candidate.source {
                orientation::Source::File => Fit::Fits { turned_deg },
                _ => Fit::FitsReoriented {
                    candidate,
                    turned_deg,
                },
            };
        }
    }
    let size_mm = std::array::from_fn(|axis| {
        let values = points.iter().map(|p| p[axis]);
        values.clone().fold(f64::NEG_INFINITY, f64::max) - values.fold(f64::INFINITY, f64::min)
    });
    Fit::TooLarge {
        size_mm,
        build_volume_mm,
    }
}
