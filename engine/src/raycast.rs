//! Rays against the mesh: parry3d's BVH of a [`Mesh`], shared by the thin-wall check and the
//! supports.
//!
//! A BVH is built once per model: a mesh turned by [`Mesh::rotated`] (each orientation the
//! quote tries) shares its source's BVH, and its rays are turned back into the frame the BVH
//! was built in. A rotation keeps distances, so the time of impact is the same in both frames.

use std::sync::{Arc, OnceLock};

use parry3d::bounding_volume::Aabb;
use parry3d::math::Vector;
use parry3d::query::{Ray, RayCast};
use parry3d::shape::TriMesh;

use crate::mesh::Mesh;

/// The BVH a mesh and its rotations share, built on first use.
#[derive(Clone, Default)]
pub(crate) struct SharedBvh(Arc<OnceLock<Option<TriMesh>>>);

impl std::fmt::Debug for SharedBvh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "built"
        } else {
            "not built"
        };
        write!(f, "SharedBvh({state})")
    }
}

/// Casts rays at a mesh, in the mesh's own coordinates.
pub(crate) struct Caster<'a> {
    bvh: &'a TriMesh,
    /// From the mesh's coordinates to the BVH's.
    to_bvh: [[f32; 3]; 3],
}

/// A ray's first hit: how far along the ray, and which face.
pub(crate) struct Hit {
    pub distance: f32,
    pub face: usize,
}

impl Caster<'_> {
    /// The BVH of `mesh`; `None` only for an empty mesh (a welded `Mesh` has valid indices and
    /// no collapsed faces, all that `TriMesh` refuses).
    pub(crate) fn new(mesh: &Mesh) -> Option<Caster<'_>> {
        let (shared, to_bvh) = mesh.bvh_frame();
        let bvh = shared
            .0
            .get_or_init(|| {
                // Built in the frame of the mesh that asks first: its positions turned by
                // `to_bvh`, which every sharer's `to_bvh` maps to.
                let vertices: Vec<Vector> =
                    mesh.positions().iter().map(|p| turn(&to_bvh, p)).collect();
                TriMesh::new(vertices, mesh.triangles().to_vec()).ok()
            })
            .as_ref()?;
        Some(Caster { bvh, to_bvh })
    }

    /// The first face the ray from `origin` along the unit `direction` hits within
    /// `max_distance`.
    pub(crate) fn cast(
        &self,
        origin: [f32; 3],
        direction: [f32; 3],
        max_distance: f32,
    ) -> Option<Hit> {
        let ray = Ray::new(turn(&self.to_bvh, &origin), turn(&self.to_bvh, &direction));
        // The BVH's own ray walk (an inverse-direction slab test per node), with the
        // triangle test per leaf.
        self.bvh
            .bvh()
            .cast_ray(&ray, max_distance, |face, best| {
                self.bvh.triangle(face).cast_local_ray(&ray, best, false)
            })
            .map(|(face, distance)| Hit {
                distance,
                face: face as usize,
            })
    }

    /// [`Caster::cast`] for a short ray: the faces whose boxes meet the ray's box, each tested.
    /// The same hit (the nearest; among equals the lowest face), found by a plain walk of the
    /// BVH where [`Caster::cast`]'s best-first search spends most of a short ray's time
    /// ordering nodes: the thin-wall rays are a wall's thickness long.
    pub(crate) fn cast_short(
        &self,
        origin: [f32; 3],
        direction: [f32; 3],
        max_distance: f32,
    ) -> Option<Hit> {
        let ray = Ray::new(turn(&self.to_bvh, &origin), turn(&self.to_bvh, &direction));
        let end = ray.origin + ray.dir * max_distance;
        let reach = Aabb::new(ray.origin.min(end), ray.origin.max(end));
        let mut best: Option<Hit> = None;
        for face in self.bvh.bvh().intersect_aabb(&reach) {
            let limit = best.as_ref().map_or(max_distance, |hit| hit.distance);
            let Some(distance) = self.bvh.triangle(face).cast_local_ray(&ray, limit, false) else {
                continue;
            };
            let face = face as usize;
            if best.as_ref().is_none_or(|hit| {
                distance < hit.distance || (distance == hit.distance && face < hit.face)
            }) {
                best = Some(Hit { distance, face });
            }
        }
        best
    }
}

fn turn(r: &[[f32; 3]; 3], p: &[f32; 3]) -> Vector {
    Vector::new(
        r[0][0] * p[0] + r[0][1] * p[1] + r[0][2] * p[2],
        r[1][0] * p[0] + r[1][1] * p[1] + r[1][2] * p[2],
        r[2][0] * p[0] + r[2][1] * p[1] + r[2][2] * p[2],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::LoadOptions;

    /// Short rays inward from every face, as the thin-wall check casts them, hit what testing
    /// every face finds. (parry's best-first walk, [`Caster::cast`], turns a zero component of
    /// the direction into a slope of `f32::EPSILON`, and a ray starting a hair inside a box's
    /// face in that axis then leaves the box early: it missed 102 of the Einsy base's 276
    /// walls under 0.8 mm, and 2 of this model's.)
    #[test]
    fn short_rays_hit_what_every_face_does() {
        let Some(dir) = crate::shared_models() else {
            return;
        };
        let bytes = std::fs::read(dir.join("trimesh__featuretype.STL")).expect("shared model");
        let mesh = crate::mesh::parse(&bytes, &LoadOptions::default()).expect("model");
        let caster = Caster::new(&mesh).expect("bvh");
        let reach = 0.8;
        let mut hits = 0;
        for face in 0..mesh.triangles().len() {
            let [a, b, c] = mesh.corners(face).map(|p| Vector::new(p[0], p[1], p[2]));
            let inward = -(b - a).cross(c - a).normalize();
            let start = (a + b + c) / 3.0 + inward * 1e-3;
            let ray = Ray::new(start, inward);
            let every_face = (0..mesh.triangles().len() as u32)
                .filter_map(|f| caster.bvh.triangle(f).cast_local_ray(&ray, reach, false))
                .reduce(f32::min);
            let short = caster.cast_short(start.into(), inward.into(), reach);
            assert_eq!(short.map(|hit| hit.distance), every_face, "face {face}");
            hits += usize::from(every_face.is_some());
        }
        assert!(hits > 1000, "{hits} hits");
    }
}
