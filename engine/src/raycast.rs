//! Rays against the mesh: parry3d's BVH of a [`Mesh`], shared by the thin-wall check and the
//! supports.
//!
//! A BVH is built once per model: a mesh turned by [`Mesh::rotated`] (each orientation the
//! quote tries) shares its source's BVH, and its rays are turned back into the frame the BVH
//! was built in. A rotation keeps distances, so the time of impact is the same in both frames.
//!
//! parry builds a BVH on one thread. A large mesh is cut in two halves along the longest axis
//! of its faces' centres, and each half gets its own BVH, both built at once; a ray asks both,
//! the nearer hit winning (among equals the lower face, as within one).

use std::sync::{Arc, OnceLock};

use parry3d::bounding_volume::Aabb;
use parry3d::math::Vector;
use parry3d::query::{Ray, RayCast};
use parry3d::shape::TriMesh;

use crate::mesh::Mesh;

/// The BVH a mesh and its rotations share, built on first use.
#[derive(Clone, Default)]
pub(crate) struct SharedBvh(Arc<OnceLock<Option<Vec<Part>>>>);

/// The BVH of some of a mesh's faces.
pub(crate) struct Part {
    bvh: TriMesh,
    /// The mesh's number of each of the part's faces.
    faces: Vec<u32>,
}

/// Meshes with more faces than this get two BVHs built at once (see the module's doc): below
/// it a build takes a few milliseconds.
const SPLIT_FACES: usize = 16_384;

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
    parts: &'a [Part],
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
        let parts = shared
            .0
            .get_or_init(|| {
                // Built in the source's frame, from its own positions, whichever of its
                // rotations asks first: every sharer's `to_bvh` maps to it.
                let vertices: Vec<Vector> = mesh
                    .source_positions()
                    .iter()
                    .map(|&[x, y, z]| Vector::new(x, y, z))
                    .collect();
                let build = |faces: Vec<u32>| {
                    let triangles = faces
                        .iter()
                        .map(|&face| mesh.triangles()[face as usize])
                        .collect();
                    let bvh = TriMesh::new(vertices.clone(), triangles).ok()?;
                    Some(Part { bvh, faces })
                };
                let faces = mesh.triangles().len() as u32;
                if (faces as usize) <= SPLIT_FACES {
                    return Some(vec![build((0..faces).collect())?]);
                }
                let (low, high) = halves(mesh, &vertices);
                let (low, high) = rayon::join(|| build(low), || build(high));
                Some(vec![low?, high?])
            })
            .as_ref()?;
        Some(Caster { parts, to_bvh })
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
        let mut best: Option<Hit> = None;
        for part in self.parts {
            let limit = best.as_ref().map_or(max_distance, |hit| hit.distance);
            // The BVH's own ray walk (an inverse-direction slab test per node), with the
            // triangle test per leaf.
            let Some((face, distance)) = part.bvh.bvh().cast_ray(&ray, limit, |face, best| {
                part.bvh.triangle(face).cast_local_ray(&ray, best, false)
            }) else {
                continue;
            };
            nearer(&mut best, distance, part.faces[face as usize] as usize);
        }
        best
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
        for part in self.parts {
            for face in part.bvh.bvh().intersect_aabb(&reach) {
                let limit = best.as_ref().map_or(max_distance, |hit| hit.distance);
                let Some(distance) = part.bvh.triangle(face).cast_local_ray(&ray, limit, false)
                else {
                    continue;
                };
                nearer(&mut best, distance, part.faces[face as usize] as usize);
            }
        }
        best
    }
}

/// Keeps the nearer of `best` and a hit at `distance` on `face` (among equals the lower face).
fn nearer(best: &mut Option<Hit>, distance: f32, face: usize) {
    if best
        .as_ref()
        .is_none_or(|hit| distance < hit.distance || (distance == hit.distance && face < hit.face))
    {
        *best = Some(Hit { distance, face });
    }
}

/// The mesh's faces in two halves: those whose centres lie below the median along the axis the
/// centres spread most along, and the rest.
fn halves(mesh: &Mesh, vertices: &[Vector]) -> (Vec<u32>, Vec<u32>) {
    // Three times each centre, found once.
    let centres: Vec<Vector> = mesh
        .triangles()
        .iter()
        .map(|t| t.map(|v| vertices[v as usize]).into_iter().sum())
        .collect();
    let (low, high) = centres.iter().fold(
        (
            Vector::splat(f32::INFINITY),
            Vector::splat(f32::NEG_INFINITY),
        ),
        |(low, high), &c| (low.min(c), high.max(c)),
    );
    let axis = (high - low).max_position();
    let mut order: Vec<(f32, u32)> = (0..centres.len() as u32)
        .map(|face| (centres[face as usize][axis], face))
        .collect();
    let middle = order.len() / 2;
    order.select_nth_unstable_by(middle, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let high = order.split_off(middle);
    let mut low: Vec<u32> = order.into_iter().map(|(_, face)| face).collect();
    let mut high: Vec<u32> = high.into_iter().map(|(_, face)| face).collect();
    low.sort_unstable();
    high.sort_unstable();
    (low, high)
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

    /// A rotation that asks for the shared BVH first gets the one its source would have built:
    /// the same hits, to the bit, whichever asks first (quotes ask from parallel orientations).
    #[test]
    fn the_bvh_is_the_same_whichever_rotation_builds_it() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/models/torus_r20_r5.stl");
        let bytes = std::fs::read(path).expect("fixture");
        let (s, c) = (0.6f64.sin(), 0.6f64.cos());
        let turn = [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]];
        let hits = |source_first: bool| {
            let source = crate::mesh::parse(&bytes, &LoadOptions::default()).expect("torus");
            let rotated = source.rotated(turn);
            if source_first {
                Caster::new(&source).expect("bvh");
            }
            let caster = Caster::new(&rotated).expect("bvh");
            let mut found = Vec::new();
            for i in -30..=30 {
                for j in -30..=30 {
                    let origin = [i as f32 * 0.9 + 0.05, j as f32 * 0.9 + 0.05, 40.0];
                    found.push(
                        caster
                            .cast(origin, [0.0, 0.0, -1.0], 80.0)
                            .map(|hit| (hit.distance.to_bits(), hit.face)),
                    );
                }
            }
            found
        };
        let source_first = hits(true);
        assert!(source_first.iter().filter(|hit| hit.is_some()).count() > 500);
        assert_eq!(hits(false), source_first);
    }

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
            let every_face = caster
                .parts
                .iter()
                .flat_map(|part| (0..part.faces.len() as u32).map(|f| part.bvh.triangle(f)))
                .filter_map(|triangle| triangle.cast_local_ray(&ray, reach, false))
                .reduce(f32::min);
            let short = caster.cast_short(start.into(), inward.into(), reach);
            assert_eq!(short.map(|hit| hit.distance), every_face, "face {face}");
            hits += usize::from(every_face.is_some());
        }
        assert!(hits > 1000, "{hits} hits");
    }
}
