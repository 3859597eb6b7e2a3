//! Our readers against the reference readers on the same files: stl_io for STL, tobj for OBJ.
//! Both must decode exactly the same triangles (bit for bit) in the same order.

use pricing_engine::mesh::{self, LoadOptions, Triangle};

use super::{fixture, shared_models};

fn our_triangles(bytes: &[u8]) -> Vec<Triangle> {
    mesh::decode(bytes, &LoadOptions::default())
        .expect("our reader")
        .1
        .triangles
}

fn stl_io_triangles(bytes: &[u8]) -> Option<Vec<Triangle>> {
    let indexed = stl_io::read_stl(&mut std::io::Cursor::new(bytes)).ok()?;
    Some(
        indexed
            .faces
            .iter()
            .map(|face| {
                face.vertices.map(|v| {
                    let p = indexed.vertices[v];
                    [p[0], p[1], p[2]]
                })
            })
            .collect(),
    )
}

/// `None` where tobj cannot read the file (it refuses `f 1// 2// 3//`, which trimesh and we
/// read).
fn tobj_triangles(bytes: &[u8]) -> Option<Vec<Triangle>> {
    let options = tobj::LoadOptions {
        triangulate: true,
        single_index: false,
        ignore_points: true,
        ignore_lines: true,
    };
    let (models, _) = tobj::load_obj_buf(&mut std::io::Cursor::new(bytes), &options, |_| {
        Err(tobj::LoadError::OpenFileFailed)
    })
    .ok()?;
    let mut out = Vec::new();
    for model in models {
        let p = &model.mesh.positions;
        let corner = |v: u32| {
            let v = v as usize * 3;
            [p[v], p[v + 1], p[v + 2]]
        };
        for face in model.mesh.indices.chunks_exact(3) {
            out.push([corner(face[0]), corner(face[1]), corner(face[2])]);
        }
    }
    Some(out)
}

/// `(path, bytes)` of the shared models with this extension and at most `max_bytes`.
fn shared_files(extension: &str, max_bytes: u64) -> Vec<(String, Vec<u8>)> {
    let Some(dir) = shared_models() else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("models").flatten() {
        let path = entry.path();
        let wanted = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(extension));
        if wanted && entry.metadata().is_ok_and(|m| m.len() <= max_bytes) {
            files.push((
                path.display().to_string(),
                std::fs::read(&path).expect("model"),
            ));
        }
    }
    files
}

fn same(a: &[Triangle], b: &[Triangle]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.as_flattened()
                .iter()
                .zip(y.as_flattened())
                .all(|(p, q)| p.to_bits() == q.to_bits() || (*p == 0.0 && *q == 0.0))
        })
}

#[test]
fn stl_matches_stl_io() {
    let mut files: Vec<(String, Vec<u8>)> = [
        "cube_10mm.stl",
        "uv_sphere_r10.stl",
        "torus_r20_r5.stl",
        "degenerate_faces.stl",
    ]
    .iter()
    .map(|name| (name.to_string(), fixture(name)))
    .collect();
    // Larger files add time, not cases: stl_io welds through a SipHash map.
    files.extend(shared_files("stl", 5 << 20));
    let mut compared = 0;
    for (name, bytes) in &files {
        // stl_io refuses ASCII files with several solids or a bare `solid`; those are covered
        // by our own tests.
        let Some(reference) = stl_io_triangles(bytes) else {
            continue;
        };
        let ours = our_triangles(bytes);
        // stl_io stops at the first `endsolid`; we read every solid, so compare its part.
        let ours = if mesh::detect(bytes) == Ok(mesh::Format::AsciiStl) {
            &ours[..reference.len().min(ours.len())]
        } else {
            &ours[..]
        };
        assert!(
            same(ours, &reference),
            "{name}: triangles differ from stl_io's"
        );
        compared += 1;
    }
    assert!(compared >= 4, "compared only {compared} files");
}

#[test]
fn obj_matches_tobj() {
    let mut files = vec![(
        "quads_negative_indices.obj".to_string(),
        fixture("quads_negative_indices.obj"),
    )];
    files.extend(shared_files("obj", u64::MAX));
    let mut compared = 0;
    for (name, bytes) in &files {
        let Some(reference) = tobj_triangles(bytes) else {
            continue;
        };
        assert!(
            same(&our_triangles(bytes), &reference),
            "{name}: triangles differ from tobj's"
        );
        compared += 1;
    }
    assert!(
        compared > 3 * usize::from(files.len() > 1),
        "compared only {compared} files"
    );
}
