//! Integration tests of the engine: one binary, one module per concern.
//!
//! Every module touches the engine through the helpers here, so the API is exercised the way
//! callers use it.

mod estimate;
mod fixtures;
mod formats;
mod manufacturability;
mod oracles;
mod orientation;
mod pipeline;
mod price_book;
mod properties;
mod quick;
mod quote;
mod reference;
mod robustness;
mod slicing;
mod support;

use std::path::PathBuf;

use pricing_engine::mesh::{Format, LoadOptions, Mesh, MeshError, Triangle};
use pricing_engine::{Analysis, analyze, parse};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("fixtures/models").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|err| panic!("cannot read fixture {}: {err}", path.display()))
}

/// `../shared/models` beside the repository. In CI it must exist; elsewhere its absence skips
/// the tests that need it, and they say so.
pub fn shared_models() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/models");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {} does not exist: the shared model corpus must be beside the repository",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: {} does not exist, so the tests against the shared corpus did not run",
        dir.display()
    );
    None
}

pub fn load(bytes: &[u8]) -> Result<Mesh, MeshError> {
    parse(bytes, &LoadOptions::default())
}

pub fn load_and_analyze(bytes: &[u8]) -> Result<Analysis, MeshError> {
    load(bytes).map(|mesh| analyze(&mesh))
}

/// Relative difference, safe at zero.
pub fn relative(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Triangles as a binary STL file (normals left zero, as many exporters do).
pub fn stl_bytes(triangles: &[Triangle]) -> Vec<u8> {
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
    for triangle in triangles {
        out.extend_from_slice(&[0u8; 12]);
        for corner in triangle {
            for value in corner {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 2]);
    }
    out
}

/// The twelve outward-facing triangles of an axis-aligned box.
/// A prism: the convex `section` (x, z, counter-clockwise seen from -y) extruded from y = 0 to
/// `length`, its faces looking out.
pub fn prism(section: &[[f32; 2]], length: f32) -> Vec<Triangle> {
    let at = |k: usize, y: f32| {
        let [x, z] = section[k % section.len()];
        [x, y, z]
    };
    let mut triangles = Vec::new();
    for k in 1..section.len() - 1 {
        triangles.push([at(0, 0.0), at(k, 0.0), at(k + 1, 0.0)]);
        triangles.push([at(0, length), at(k + 1, length), at(k, length)]);
    }
    for k in 0..section.len() {
        triangles.push([at(k, 0.0), at(k + 1, length), at(k + 1, 0.0)]);
        triangles.push([at(k, 0.0), at(k, length), at(k + 1, length)]);
    }
    triangles
}

pub fn cuboid(min: [f32; 3], size: [f32; 3]) -> Vec<Triangle> {
    let p = |x: f32, y: f32, z: f32| {
        [
            min[0] + x * size[0],
            min[1] + y * size[1],
            min[2] + z * size[2],
        ]
    };
    let quads = [
        [p(0., 0., 0.), p(0., 1., 0.), p(1., 1., 0.), p(1., 0., 0.)],
        [p(0., 0., 1.), p(1., 0., 1.), p(1., 1., 1.), p(0., 1., 1.)],
        [p(0., 0., 0.), p(1., 0., 0.), p(1., 0., 1.), p(0., 0., 1.)],
        [p(0., 1., 0.), p(0., 1., 1.), p(1., 1., 1.), p(1., 1., 0.)],
        [p(0., 0., 0.), p(0., 0., 1.), p(0., 1., 1.), p(0., 1., 0.)],
        [p(1., 0., 0.), p(1., 1., 0.), p(1., 1., 1.), p(1., 0., 1.)],
    ];
    quads
        .iter()
        .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
        .collect()
}

/// The same box with every face divided into an `n` x `n` grid of triangles. Grid points are
/// snapped to one lattice (`size * k / n`), so that faces meeting at an edge share its points
/// exactly and the box stays watertight.
pub fn gridded_box(size: [f32; 3], n: usize) -> Mesh {
    let snap = |p: [f32; 3]| -> [f32; 3] {
        std::array::from_fn(|i| {
            let k = (f64::from(p[i]) * n as f64 / f64::from(size[i])).round();
            (k * f64::from(size[i]) / n as f64) as f32
        })
    };
    let mut triangles: Vec<Triangle> = Vec::new();
    for quad in cuboid([0.0; 3], size).chunks(2) {
        let [a, b, _] = quad[0];
        let d = quad[1][2];
        let at = |u: f32, v: f32| {
            std::array::from_fn::<f32, 3, _>(|i| a[i] + u * (b[i] - a[i]) + v * (d[i] - a[i]))
        };
        let step = 1.0 / n as f32;
        for i in 0..n {
            for j in 0..n {
                let (u, v) = (i as f32 * step, j as f32 * step);
                let [p, q, r, t] = [
                    at(u, v),
                    at(u + step, v),
                    at(u + step, v + step),
                    at(u, v + step),
                ]
                .map(snap);
                triangles.push([p, q, r]);
                triangles.push([p, r, t]);
            }
        }
    }
    let mesh = Mesh::from_triangles(&triangles, Format::BinaryStl).expect("box");
    assert!(
        pricing_engine::analyze(&mesh).watertight,
        "the gridded box must be closed"
    );
    mesh
}
