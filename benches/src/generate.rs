//! Synthetic models with answers known in closed form: the test fixtures in `fixtures/models/`
//! and arbitrarily large models for benchmarks.
//!
//! The expected figures written to `expected.json` come from geometry, never from the engine:
//! a cube's volume is its side cubed, and a surface of revolution (the UV sphere, the torus)
//! has an exact polyhedral volume, `N/2 · sin(2π/N) · Σ h (ρ1² + ρ1 ρ2 + ρ2²) / 3` over its
//! profile's bands, because each of its N wedges has horizontal slices that are differences of
//! isosceles triangles.

use std::f64::consts::PI;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};

pub type Triangle = [[f32; 3]; 3];

/// The twelve outward-facing triangles of an axis-aligned box.
pub fn cuboid(min: [f32; 3], size: [f32; 3]) -> Vec<Triangle> {
    cuboid_quads(min, size)
        .iter()
        .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
        .collect()
}

/// The six outward-facing quads of an axis-aligned box, corners counter-clockwise from outside.
pub fn cuboid_quads(min: [f32; 3], size: [f32; 3]) -> [[[f32; 3]; 4]; 6] {
    let p = |x: f32, y: f32, z: f32| {
        [
            min[0] + x * size[0],
            min[1] + y * size[1],
            min[2] + z * size[2],
        ]
    };
    [
        [p(0., 0., 0.), p(0., 1., 0.), p(1., 1., 0.), p(1., 0., 0.)],
        [p(0., 0., 1.), p(1., 0., 1.), p(1., 1., 1.), p(0., 1., 1.)],
        [p(0., 0., 0.), p(1., 0., 0.), p(1., 0., 1.), p(0., 0., 1.)],
        [p(0., 1., 0.), p(0., 1., 1.), p(1., 1., 1.), p(1., 1., 0.)],
        [p(0., 0., 0.), p(0., 0., 1.), p(0., 1., 1.), p(0., 1., 0.)],
        [p(1., 0., 0.), p(1., 1., 0.), p(1., 1., 1.), p(1., 0., 1.)],
    ]
}

fn reversed(triangles: &[Triangle]) -> Vec<Triangle> {
    triangles.iter().map(|t| [t[0], t[2], t[1]]).collect()
}

/// A profile `(ρ, z)` revolved about the z axis in `segments` steps. An open profile must start
/// and end on the axis (ρ = 0); a closed one (a loop) must stay off it.
pub struct Revolution {
    pub profile: Vec<(f64, f64)>,
    pub closed: bool,
    pub segments: usize,
}

impl Revolution {
    pub fn uv_sphere(radius: f64, segments: usize, rings: usize) -> Revolution {
        let profile = (0..=rings)
            .map(|j| {
                let phi = -PI / 2.0 + PI * j as f64 / rings as f64;
                let rho = if j == 0 || j == rings {
                    0.0
                } else {
                    radius * phi.cos()
                };
                (rho, radius * phi.sin())
            })
            .collect();
        Revolution {
            profile,
            closed: false,
            segments,
        }
    }

    pub fn torus(major: f64, minor: f64, segments: usize, sides: usize) -> Revolution {
        let profile = (0..sides)
            .map(|j| {
                let phi = 2.0 * PI * j as f64 / sides as f64;
                (major + minor * phi.cos(), minor * phi.sin())
            })
            .collect();
        Revolution {
            profile,
            closed: true,
            segments,
        }
    }

    fn bands(&self) -> Vec<((f64, f64), (f64, f64))> {
        let n = self.profile.len();
        let count = if self.closed { n } else { n - 1 };
        (0..count)
            .map(|j| (self.profile[j], self.profile[(j + 1) % n]))
            .collect()
    }

    pub fn triangles(&self) -> Vec<Triangle> {
        let at = |i: usize, (rho, z): (f64, f64)| {
            let theta = 2.0 * PI * (i % self.segments) as f64 / self.segments as f64;
            [
                (rho * theta.cos()) as f32,
                (rho * theta.sin()) as f32,
                z as f32,
            ]
        };
        let mut out = Vec::new();
        for (lower, upper) in self.bands() {
            for i in 0..self.segments {
                let (a, b, c, d) = (
                    at(i, lower),
                    at(i + 1, lower),
                    at(i + 1, upper),
                    at(i, upper),
                );
                if lower.0 != 0.0 {
                    out.push([a, b, c]);
                }
                if upper.0 != 0.0 {
                    out.push([a, c, d]);
                }
            }
        }
        out
    }

    /// The exact volume of the polyhedron.
    pub fn volume(&self) -> f64 {
        let n = self.segments as f64;
        let wedge = 0.5 * (2.0 * PI / n).sin();
        // Σ over bands of ∫ρ² dz, signed by the direction of travel in z (a closed loop's inner
        // side subtracts).
        let integral: f64 = self
            .bands()
            .iter()
            .map(|&((r1, z1), (r2, z2))| (z2 - z1) * (r1 * r1 + r1 * r2 + r2 * r2) / 3.0)
            .sum();
        n * wedge * integral
    }

    /// The exact area: every face is an isosceles trapezoid (or a triangle at the poles).
    pub fn area(&self) -> f64 {
        let half = PI / self.segments as f64;
        let trapezoid = |&((r1, z1), (r2, z2)): &((f64, f64), (f64, f64))| {
            let (a, b) = (2.0 * r1 * half.sin(), 2.0 * r2 * half.sin());
            let height = ((z2 - z1).powi(2) + ((r2 - r1) * half.cos()).powi(2)).sqrt();
            (a + b) / 2.0 * height
        };
        self.segments as f64 * self.bands().iter().map(trapezoid).sum::<f64>()
    }

    pub fn n_vertices(&self) -> u64 {
        let off_axis = self.profile.iter().filter(|(rho, _)| *rho != 0.0).count();
        let on_axis = self.profile.len() - off_axis;
        (off_axis * self.segments + on_axis) as u64
    }
}

/// A binary STL; `header` fills the start of the 80-byte header.
pub fn binary_stl(header: &str, triangles: &[Triangle]) -> Vec<u8> {
    let mut out = Vec::with_capacity(84 + 50 * triangles.len());
    let mut head = [b' '; 80];
    let text = header.as_bytes();
    head[..text.len().min(80)].copy_from_slice(&text[..text.len().min(80)]);
    out.extend_from_slice(&head);
    out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
    for t in triangles {
        let normal = unit_normal(t);
        for value in normal.iter().chain(t.iter().flatten()) {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&[0, 0]);
    }
    out
}

fn unit_normal(t: &Triangle) -> [f32; 3] {
    let e1 = [t[1][0] - t[0][0], t[1][1] - t[0][1], t[1][2] - t[0][2]];
    let e2 = [t[2][0] - t[0][0], t[2][1] - t[0][1], t[2][2] - t[0][2]];
    let n = [
        e1[1] * e2[2] - e1[2] * e2[1],
        e1[2] * e2[0] - e1[0] * e2[2],
        e1[0] * e2[1] - e1[1] * e2[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    if len > 0.0 {
        n.map(|v| v / len)
    } else {
        [0.0; 3]
    }
}

/// An ASCII STL with one block per solid, written with a given line ending and in upper case
/// for odd-numbered solids (real exporters disagree on both).
pub fn ascii_stl(solids: &[(&str, Vec<Triangle>)], line_end: &str) -> Vec<u8> {
    let mut out = String::new();
    for (k, (name, triangles)) in solids.iter().enumerate() {
        let kw = |word: &str| {
            if k % 2 == 1 {
                word.to_uppercase()
            } else {
                word.to_string()
            }
        };
        out.push_str(&format!("{} {name}{line_end}", kw("solid")));
        for t in triangles {
            let n = unit_normal(t);
            out.push_str(&format!(
                "  {} {} {:e} {:e} {:e}{line_end}",
                kw("facet"),
                kw("normal"),
                n[0],
                n[1],
                n[2]
            ));
            out.push_str(&format!("\t{} {}{line_end}", kw("outer"), kw("loop")));
            for p in t {
                // Exponent notation for every coordinate.
                out.push_str(&format!(
                    "    {}   {:e} {:e} {:e}{line_end}",
                    kw("vertex"),
                    p[0],
                    p[1],
                    p[2]
                ));
            }
            out.push_str(&format!(
                "  {}{line_end}  {}{line_end}",
                kw("endloop"),
                kw("endfacet")
            ));
        }
        out.push_str(&format!("{} {name}{line_end}", kw("endsolid")));
    }
    out.into_bytes()
}

/// A cube as OBJ: six quads, corners written with negative (relative) indices in all four
/// corner forms, with groups, comments, normals and texture coordinates to read past.
pub fn obj_cube_quads(side: f32) -> Vec<u8> {
    let mut out =
        String::from("# cube with quads and negative indices\nmtllib nothing.mtl\no cube\n");
    for (k, quad) in cuboid_quads([0.0; 3], [side; 3]).iter().enumerate() {
        out.push_str(&format!("g side{k}\n"));
        for p in quad {
            out.push_str(&format!("v {} {} {}\n", p[0], p[1], p[2]));
        }
        out.push_str("vt 0 0\nvn 0 0 1\n");
        let corner = |i: i32| match k % 4 {
            0 => format!("{i}"),
            1 => format!("{i}/-1"),
            2 => format!("{i}//-1"),
            _ => format!("{i}/-1/-1"),
        };
        out.push_str(&format!(
            "f {} {} {} {}  # quad {k}\n",
            corner(-4),
            corner(-3),
            corner(-2),
            corner(-1)
        ));
    }
    out.into_bytes()
}

/// A 3MF in inches: a mesh object (a cube of `side` inches), a components object that lifts it
/// by one inch, and a build item that turns it 90 degrees about z and moves it 10 inches in x.
pub fn threemf_inch_cube(side: f32) -> anyhow::Result<Vec<u8>> {
    let mut vertices = String::new();
    let mut corners: Vec<[f32; 3]> = Vec::new();
    let mut triangles = String::new();
    for t in cuboid([0.0; 3], [side; 3]) {
        let mut idx = [0usize; 3];
        for (c, p) in t.iter().enumerate() {
            idx[c] = match corners.iter().position(|q| q == p) {
                Some(i) => i,
                None => {
                    corners.push(*p);
                    vertices.push_str(&format!(
                        "<vertex x=\"{}\" y=\"{}\" z=\"{}\"/>",
                        p[0], p[1], p[2]
                    ));
                    corners.len() - 1
                }
            };
        }
        triangles.push_str(&format!(
            "<triangle v1=\"{}\" v2=\"{}\" v3=\"{}\"/>",
            idx[0], idx[1], idx[2]
        ));
    }
    let model = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<model unit="inch" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <resources>
  <object id="1" type="model"><mesh><vertices>{vertices}</vertices><triangles>{triangles}</triangles></mesh></object>
  <object id="2" type="model"><components><component objectid="1" transform="1 0 0 0 1 0 0 0 1 0 0 1"/></components></object>
 </resources>
 <build><item objectid="2" transform="0 1 0 -1 0 0 0 0 1 10 0 0"/></build>
</model>
"#
    );
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Target="/3D/model.model" Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>
"#;
    let content_types = r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>
"#;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("3D/model.model", &model),
    ] {
        zip.start_file(name, options)
            .context("writing the 3MF archive")?;
        zip.write_all(body.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// One fixture: its file name, bytes and expected analysis.
pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub expected: Value,
}

/// The expected analysis: `(triangles, vertices)`, `(volume, area)`, the bounding box, the
/// shells, watertightness, and any further fields.
fn expect(
    (triangles, vertices): (u64, u64),
    (volume, area): (f64, f64),
    bbox: ([f64; 3], [f64; 3]),
    shells: u64,
    watertight: bool,
    extra: Value,
) -> Value {
    let mut value = json!({
        "triangles": triangles,
        "vertices": vertices,
        "volume_mm3": volume,
        "area_mm2": area,
        "bbox_min": bbox.0,
        "bbox_max": bbox.1,
        "shells": shells,
        "watertight": watertight,
        "winding_consistent": true,
        "boundary_edges": 0,
        "non_manifold_edges": 0,
        "degenerate_triangles": 0,
        "inverted_shells": 0,
        "warnings": [],
    });
    if let (Some(map), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    value
}

/// Every fixture with its expected analysis, computed from geometry.
pub fn fixtures() -> anyhow::Result<Vec<Fixture>> {
    let cube = cuboid([0.0; 3], [10.0; 3]);
    let cube_bbox = ([0.0; 3], [10.0; 3]);
    let mut out = Vec::new();

    out.push(Fixture {
        name: "cube_10mm.stl",
        bytes: binary_stl("cube_10mm: generated by pricing-bench gen fixtures", &cube),
        expected: expect(
            (12, 8),
            (1000.0, 600.0),
            cube_bbox,
            1,
            true,
            json!({"euler_number": 2}),
        ),
    });

    let mut void_box = cuboid([0.0; 3], [20.0; 3]);
    void_box.extend(reversed(&cuboid([5.0; 3], [10.0; 3])));
    out.push(Fixture {
        name: "box_with_void.stl",
        bytes: binary_stl("box 20 mm with a 10 mm void", &void_box),
        expected: expect(
            (24, 16),
            (7000.0, 3000.0),
            ([0.0; 3], [20.0; 3]),
            2,
            true,
            json!({"shell_volumes_mm3": [8000.0, -1000.0]}),
        ),
    });

    let sphere = Revolution::uv_sphere(10.0, 32, 16);
    let sphere_triangles = sphere.triangles();
    out.push(Fixture {
        name: "uv_sphere_r10.stl",
        bytes: binary_stl(
            "UV sphere r=10 mm, 32 segments x 16 rings",
            &sphere_triangles,
        ),
        expected: expect(
            (sphere_triangles.len() as u64, sphere.n_vertices()),
            (sphere.volume(), sphere.area()),
            ([-10.0, -10.0, -10.0], [10.0, 10.0, 10.0]),
            1,
            true,
            json!({"euler_number": 2, "bbox_tolerance_mm": 0.2}),
        ),
    });

    let torus = Revolution::torus(20.0, 5.0, 48, 24);
    let torus_triangles = torus.triangles();
    out.push(Fixture {
        name: "torus_r20_r5.stl",
        bytes: binary_stl("torus R=20 r=5, 48 x 24", &torus_triangles),
        expected: expect(
            (torus_triangles.len() as u64, torus.n_vertices()),
            (torus.volume(), torus.area()),
            ([-25.0, -25.0, -5.0], [25.0, 25.0, 5.0]),
            1,
            true,
            json!({"euler_number": 0, "bbox_tolerance_mm": 0.2}),
        ),
    });

    let mut two = cube.clone();
    two.extend(cuboid([30.0, 0.0, 0.0], [10.0; 3]));
    out.push(Fixture {
        name: "two_cubes_apart.stl",
        bytes: binary_stl("two disjoint 10 mm cubes", &two),
        expected: expect(
            (24, 16),
            (2000.0, 1200.0),
            ([0.0; 3], [40.0, 10.0, 10.0]),
            2,
            true,
            json!({}),
        ),
    });

    // The top (z = 10) is missing. The volume of an open surface is measured about the centre of
    // the bounding box (5, 5, 5): the missing top would have added 100 mm2 x 5 mm / 3.
    let open: Vec<Triangle> = cube
        .iter()
        .enumerate()
        .filter(|(k, _)| *k / 2 != 1)
        .map(|(_, t)| *t)
        .collect();
    out.push(Fixture {
        name: "open_box.stl",
        bytes: binary_stl("10 mm cube without its top", &open),
        expected: expect(
            (10, 8),
            (1000.0 - 100.0 * 5.0 / 3.0, 500.0),
            cube_bbox,
            1,
            false,
            json!({"boundary_edges": 4, "warnings": ["open_mesh"]}),
        ),
    });

    out.push(Fixture {
        name: "inside_out_cube.stl",
        bytes: binary_stl("10 mm cube, every face reversed", &reversed(&cube)),
        expected: expect(
            (12, 8),
            (-1000.0, 600.0),
            cube_bbox,
            1,
            true,
            json!({"inverted_shells": 1, "warnings": ["inverted_shells"]}),
        ),
    });

    // Two cubes that share one vertical edge (x = y = 10): four faces meet on it.
    let mut shared_edge = cube.clone();
    shared_edge.extend(cuboid([10.0, 10.0, 0.0], [10.0; 3]));
    out.push(Fixture {
        name: "non_manifold_edge.stl",
        bytes: binary_stl("two cubes sharing one edge", &shared_edge),
        expected: expect(
            (24, 14),
            (2000.0, 1200.0),
            ([0.0; 3], [20.0, 20.0, 10.0]),
            2,
            false,
            json!({"non_manifold_edges": 1, "warnings": ["open_mesh"]}),
        ),
    });

    // Two faces that collapse when welded: one with a repeated corner, one a single point.
    let mut degenerate = cube.clone();
    degenerate.push([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [10.0, 0.0, 0.0]]);
    degenerate.push([[10.0, 10.0, 10.0]; 3]);
    out.push(Fixture {
        name: "degenerate_faces.stl",
        bytes: binary_stl("cube plus two collapsed faces", &degenerate),
        expected: expect(
            (14, 8),
            (1000.0, 600.0),
            cube_bbox,
            1,
            true,
            json!({"degenerate_triangles": 2, "warnings": ["degenerate_faces"]}),
        ),
    });

    out.push(Fixture {
        name: "binary_header_says_solid.stl",
        bytes: binary_stl(
            "solid cube exported by a CAD tool that starts binary headers with solid",
            &cube,
        ),
        expected: expect(
            (12, 8),
            (1000.0, 600.0),
            cube_bbox,
            1,
            true,
            json!({"format": "stl-binary"}),
        ),
    });

    let second = cuboid([20.0, 0.0, 0.0], [10.0; 3]);
    out.push(Fixture {
        name: "multi_solid_cr.stl",
        bytes: ascii_stl(&[("first", cube.clone()), ("", second)], "\r"),
        expected: expect(
            (24, 16),
            (2000.0, 1200.0),
            ([0.0; 3], [30.0, 10.0, 10.0]),
            2,
            true,
            json!({"format": "stl-ascii"}),
        ),
    });

    out.push(Fixture {
        name: "quads_negative_indices.obj",
        bytes: obj_cube_quads(10.0),
        expected: expect(
            (12, 8),
            (1000.0, 600.0),
            cube_bbox,
            1,
            true,
            json!({"format": "obj"}),
        ),
    });

    let inch = 25.4f64;
    out.push(Fixture {
        name: "inch_cube_transform.3mf",
        bytes: threemf_inch_cube(1.0)?,
        expected: expect(
            (12, 8),
            (inch.powi(3), 6.0 * inch * inch),
            ([9.0 * inch, 0.0, inch], [10.0 * inch, inch, 2.0 * inch]),
            1,
            true,
            json!({"format": "3mf", "bbox_tolerance_mm": 1e-4}),
        ),
    });
    Ok(out)
}

/// Writes every fixture and `expected.json` into `dir`; returns the number of fixtures.
pub fn write_fixtures(dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let fixtures = fixtures()?;
    let mut expected = serde_json::Map::new();
    for fixture in &fixtures {
        let path = dir.join(fixture.name);
        std::fs::write(&path, &fixture.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        expected.insert(fixture.name.to_string(), fixture.expected.clone());
    }
    let text = serde_json::to_string_pretty(&Value::Object(expected))? + "\n";
    std::fs::write(dir.join("expected.json"), text).context("writing expected.json")?;
    Ok(fixtures.len())
}

/// Writes a UV sphere with about `triangles` faces as binary STL; returns the face count.
pub fn write_sphere_stl(path: &Path, triangles: u64, radius: f64) -> anyhow::Result<u64> {
    // A sphere of s segments and r rings has 2 s (r - 1) faces; use r = s / 2.
    let segments = ((triangles as f64).sqrt().max(8.0)) as usize;
    let sphere = Revolution::uv_sphere(radius, segments, (segments / 2).max(3));
    let faces = sphere.triangles();
    std::fs::write(
        path,
        binary_stl("UV sphere generated by pricing-bench gen sphere", &faces),
    )
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(faces.len() as u64)
}
