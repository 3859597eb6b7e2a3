//! Manufacturability: what about the geometry would print badly, and where; and whether the
//! part fits the machine at all (`fit`).
//!
//! Thin walls: from the centroid of every face a ray is cast inward, against the face's
//! outward normal, through parry3d's BVH of the mesh; the distance to the first surface it
//! meets is the wall's thickness there. Faces where it is below the material's minimum are
//! thin, and the report says how much area is thin, the thinnest wall and where it is. Rays start
//! a hair behind the face (`RAY_START_MM`) so that a face never meets itself. On an open surface
//! a ray may escape, and that face is not reported. The rays are short, so each is tested
//! against the faces whose boxes meet its own (`Caster::cast_short`).

pub(crate) mod fit;

pub use fit::{Fit, fit};

use parry3d::math::Vector;
use rayon::prelude::*;

use crate::mesh::Mesh;

/// How far behind its face a ray starts, in millimetres: far below any printable wall, far
/// above f32 rounding at the sizes of printed parts.
const RAY_START_MM: f32 = 1e-3;

/// A wall is thin when it is thinner than the minimum by more than this, in millimetres: a
/// wall drawn exactly at the minimum is not thin, whatever the `f32` rounding of its faces.
const THICKNESS_TOLERANCE_MM: f32 = 1e-4;

/// Walls thinner than a minimum.
#[derive(Debug, Clone, PartialEq)]
pub struct ThinWalls {
    pub min_wall_mm: f64,
    /// Faces whose wall is thinner than `min_wall_mm`.
    pub n_faces: u64,
    pub area_mm2: f64,
    /// The thinnest wall found and the centroid of its face, when any wall is thin.
    pub thinnest: Option<ThinSpot>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThinSpot {
    pub thickness_mm: f64,
    pub at_mm: [f64; 3],
}

/// Finds the walls of `mesh` thinner than `min_wall_mm`.
pub fn thin_walls(mesh: &Mesh, min_wall_mm: f64) -> ThinWalls {
    let none = ThinWalls {
        min_wall_mm,
        n_faces: 0,
        area_mm2: 0.0,
        thinnest: None,
    };
    // A minimum that is not a positive number (NaN included) finds nothing.
    if mesh.triangles().is_empty() || min_wall_mm.is_nan() || min_wall_mm <= 0.0 {
        return none;
    }
    let Some(caster) = crate::raycast::Caster::new(mesh) else {
        return none;
    };
    let max_distance = min_wall_mm as f32 - RAY_START_MM - THICKNESS_TOLERANCE_MM;
    let found = (0..mesh.triangles().len())
        .into_par_iter()
        .with_min_len(1024)
        .filter_map(|face| {
            let [a, b, c] = mesh.corners(face).map(|p| Vector::new(p[0], p[1], p[2]));
            let cross = (b - a).cross(c - a);
            let length = cross.length();
            if length == 0.0 {
                return None;
            }
            let inward = -cross / length;
            let centroid = (a + b + c) / 3.0;
            let start = centroid + inward * RAY_START_MM;
            let hit = caster.cast_short(start.into(), inward.into(), max_distance)?;
            let thickness = f64::from(hit.distance + RAY_START_MM);
            Some((face, thickness, f64::from(length) / 2.0, centroid))
        })
        .collect::<Vec<_>>();
    let area_mm2 = found.iter().map(|(_, _, area, _)| area).sum();
    // The thinnest, ties to the lowest face number, so the report is deterministic.
    let thinnest = found
        .iter()
        .min_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)))
        .map(|(_, thickness, _, at)| ThinSpot {
            thickness_mm: *thickness,
            at_mm: [f64::from(at.x), f64::from(at.y), f64::from(at.z)],
        });
    ThinWalls {
        min_wall_mm,
        n_faces: found.len() as u64,
        area_mm2,
        thinnest,
    }
}
