//! Rays against the mesh: parry3d's BVH of a [`Mesh`], shared by the thin-wall check and the
//! supports.

use parry3d::math::Vector;
use parry3d::shape::TriMesh;

use crate::mesh::Mesh;

/// The BVH of `mesh`. A welded `Mesh` has valid indices and no collapsed faces, all that
/// `TriMesh` refuses; `None` only for an empty mesh.
pub(crate) fn bvh(mesh: &Mesh) -> Option<TriMesh> {
    let vertices: Vec<Vector> = mesh
        .positions()
        .iter()
        .map(|p| Vector::new(p[0], p[1], p[2]))
        .collect();
    TriMesh::new(vertices, mesh.triangles().to_vec()).ok()
}
