//! The formats' corner cases, and the errors a person sees for bad input: each names what is
//! wrong and where.

use std::io::Write;

use pricing_engine::mesh::{self, Format, LoadOptions, MeshError, Unit};

use super::{fixture, load, load_and_analyze};

fn check_error(bytes: &[u8], kind: &str, message: &str) {
    let err = load(bytes).expect_err("the input must be refused");
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.to_string(), message);
}

const FACET: &str = "facet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 1 0 0\n  vertex 0 1 0\n endloop\nendfacet\n";

#[test]
fn ascii_stl_variants_parse() {
    let cases: Vec<(String, u64)> = vec![
        (format!("solid name\n{FACET}endsolid name\n"), 1),
        // Bare `solid` (which stl_io rejects), no name at either end.
        (format!("solid\n{FACET}endsolid\n"), 1),
        (format!("SOLID X\r\n{}ENDSOLID X\r\n", FACET.to_uppercase().replace('\n', "\r\n")), 1),
        (format!("solid a\r{}endsolid a\rsolid b\r{}endsolid", FACET.replace('\n', "\r"), FACET.replace('\n', "\r")), 2),
        (format!("  \t solid spaced name with words\n\n{}\tendsolid\n", FACET.replace(' ', "\t  ")), 1),
        // Exponents, signs and a nan normal (written by some exporters for degenerate faces).
        ("solid e\nfacet normal nan nan nan\nouter loop\nvertex 0e0 0E+0 -0\nvertex 1.0e+00 0 0\nvertex +0 1E-0 .0\nendloop\nendfacet\nendsolid e".to_string(), 1),
        // A UTF-8 byte order mark.
        (format!("\u{feff}solid bom\n{FACET}endsolid bom\n"), 1),
        // A missing trailing newline and a file that ends right after `endsolid`.
        (format!("solid a\n{FACET}endsolid"), 1),
        // Windows' NaN in a normal (ignored), and NUL padding after `endsolid`.
        (
            format!("solid w\n{}endsolid w\n\0\0\0\0", FACET.replace("normal 0 0 1", "normal 1.#QNAN0 -1.#IND00 0")),
            1,
        ),
    ];
    for (text, triangles) in cases {
        let mesh = load(text.as_bytes()).unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(mesh.format(), Format::AsciiStl);
        assert_eq!(mesh.triangles_in_file(), triangles, "{text}");
    }
}

#[test]
fn ascii_stl_errors_carry_the_line() {
    check_error(
        format!(
            "solid a\n{}endsolid a\n",
            FACET.replace("vertex 1 0 0", "vertex 1 zero 0")
        )
        .as_bytes(),
        "syntax",
        "ASCII STL line 5: expected a number for a vertex coordinate, found `zero`",
    );
    check_error(
        b"solid a\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n",
        "syntax",
        "ASCII STL line 4: the file ends where `vertex` was expected in the facet's loop",
    );
    check_error(
        format!("solid a\r{}", FACET.replace('\n', "\r")).as_bytes(),
        "syntax",
        "ASCII STL line 8: the file ends inside solid 1: `endsolid` is missing",
    );
    check_error(
        format!("solid a\n{}endsolid\nrubbish\n", FACET).as_bytes(),
        "syntax",
        "ASCII STL line 10: expected `solid`, found `rubbish`",
    );
}

#[test]
fn binary_stl_length_decides() {
    let cube = fixture("binary_header_says_solid.stl");
    assert!(cube.starts_with(b"solid"));
    assert_eq!(mesh::detect(&cube), Ok(Format::BinaryStl));

    let mut short = cube.clone();
    short.truncate(cube.len() - 10);
    // It begins with `solid` but holds binary bytes: reported as the truncated binary it is.
    check_error(
        &short,
        "stl_truncated",
        "binary STL is truncated: its header declares 12 triangles (684 bytes) but the file has 674 bytes",
    );
    let plain = fixture("cube_10mm.stl");
    check_error(
        &plain[..600],
        "stl_truncated",
        "binary STL is truncated: its header declares 12 triangles (684 bytes) but the file has 600 bytes",
    );
    let mut long = plain.clone();
    long.extend_from_slice(&[0; 7]);
    check_error(
        &long,
        "stl_count_mismatch",
        "binary STL header declares 12 triangles (684 bytes) but the file has 691 bytes; the count disagrees with the length",
    );
}

#[test]
fn non_finite_coordinates_name_the_face() {
    let mut cube = fixture("cube_10mm.stl");
    // Face 3, second corner, y.
    let at = 84 + 3 * 50 + 12 + 12 + 4;
    cube[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    check_error(
        &cube,
        "non_finite_coordinate",
        "face 3 has a non-finite coordinate (NaN)",
    );
    let text = format!(
        "solid a\n{}{}endsolid\n",
        FACET,
        FACET.replace("vertex 0 1 0", "vertex 0 inf 0")
    );
    check_error(
        text.as_bytes(),
        "non_finite_coordinate",
        "face 1 has a non-finite coordinate (inf) on line 9",
    );
}

#[test]
fn obj_variants_and_errors() {
    let mesh =
        load(b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 0.5 0.5 1\nf 1 2 3 4 5\n").expect("n-gon");
    assert_eq!(mesh.triangles_in_file(), 3, "a pentagon is three triangles");
    // A face may refer to vertices defined later.
    let mesh = load(b"f 1 2 3\nv 0 0 0\nv 1 0 0\nv 0 1 0\n").expect("forward references");
    assert_eq!(mesh.triangles().len(), 1);
    // Continuation lines, tabs, CRLF and trailing comments.
    let mesh =
        load(b"v 0 0 0\r\nv 1 0 0 # x\r\nv\t0 1 0\r\nf 1 \\\r\n 2 3\r\n").expect("continuation");
    assert_eq!(mesh.triangles().len(), 1);

    check_error(
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n",
        "index_out_of_range",
        "OBJ line 4: face 0 references vertex 4 but only 3 vertices are defined",
    );
    check_error(
        b"v 0 0 0\nv 1 0 0\nf -1 -2 -3\nv 0 1 0\n",
        "index_out_of_range",
        "OBJ line 3: face 0 references vertex -3 but only 2 vertices are defined",
    );
    check_error(
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n",
        "syntax",
        "OBJ line 4: vertex index 0 is invalid: OBJ indices start at 1",
    );
    check_error(
        b"v 0 0\n",
        "syntax",
        "OBJ line 1: vertex has 2 coordinates, expected at least 3",
    );
    check_error(
        b"v 0 0 0\nv 1 0 0\nf 1 2\n",
        "syntax",
        "OBJ line 3: face has 2 vertices, a face needs at least 3",
    );
    check_error(
        b"v 0 0 0\nf 1/x 1 a\n",
        "syntax",
        "OBJ line 2: expected a vertex index in face corner `a`",
    );
    check_error(
        b"# only comments\n",
        "no_triangles",
        "the OBJ file contains no triangles",
    );
    // A file that begins with a rarer statement is still an OBJ.
    let mesh = load(b"maplib a.map\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n").expect("maplib first");
    assert_eq!(mesh.format(), Format::Obj);
}

#[test]
fn units_scale_to_millimetres() {
    let cube = fixture("cube_10mm.stl");
    for (unit, side) in [
        (Unit::Millimetre, 10.0),
        (Unit::Centimetre, 100.0),
        (Unit::Inch, 254.0),
        (Unit::Metre, 10_000.0),
    ] {
        let mesh = mesh::parse(
            &cube,
            &LoadOptions {
                unit,
                ..LoadOptions::default()
            },
        )
        .expect("cube");
        let analysis = pricing_engine::analyze(&mesh);
        assert!(
            (analysis.volume_mm3 - side * side * side).abs() < 1e-9 * side.powi(3),
            "{unit:?}"
        );
    }
    // 3MF declares its unit (inch): the caller's unit is ignored.
    let threemf = fixture("inch_cube_transform.3mf");
    let mesh = mesh::parse(
        &threemf,
        &LoadOptions {
            unit: Unit::Centimetre,
            ..LoadOptions::default()
        },
    )
    .expect("3mf");
    let analysis = pricing_engine::analyze(&mesh);
    assert!((analysis.volume_mm3 - 25.4f64.powi(3)).abs() < 1e-6 * 25.4f64.powi(3));
}

#[test]
fn unit_warnings() {
    let cube = fixture("cube_10mm.stl");
    // A 10 mm cube read in metres is 10 m: larger than any printer.
    let metres = mesh::parse(
        &cube,
        &LoadOptions {
            unit: Unit::Metre,
            ..LoadOptions::default()
        },
    )
    .expect("cube");
    let kinds: Vec<_> = pricing_engine::analyze(&metres)
        .warnings
        .iter()
        .map(|w| w.kind)
        .collect();
    assert_eq!(kinds, ["huge_part"]);
    // A 1 mm cube (a 1-inch part drawn in inches, read as mm).
    let tiny: Vec<_> = (0..12)
        .map(|idx| {
            mesh::parse(&cube, &LoadOptions::default())
                .expect("cube")
                .corners(idx)
        })
        .collect();
    let tiny: Vec<_> = tiny
        .iter()
        .map(|t| t.map(|p| p.map(|v| v / 10.0)))
        .collect();
    let analysis = pricing_engine::analyze(
        &mesh::Mesh::from_triangles(&tiny, Format::BinaryStl).expect("tiny"),
    );
    assert_eq!(analysis.warnings.len(), 1);
    assert_eq!(analysis.warnings[0].kind, "tiny_part");
    assert!(
        analysis.warnings[0].message.contains("inches (25.40 mm)"),
        "{}",
        analysis.warnings[0].message
    );
}

fn zip_of(entries: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body, method) in entries {
        zip.start_file(
            *name,
            zip::write::SimpleFileOptions::default().compression_method(*method),
        )
        .expect("zip");
        zip.write_all(body).expect("zip");
    }
    zip.finish().expect("zip").into_inner()
}

const MODEL_HEAD: &str = r#"<?xml version="1.0"?><model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02"><resources>"#;
const TETRA: &str = r#"<object id="1"><mesh><vertices><vertex x="0" y="0" z="0"/><vertex x="10" y="0" z="0"/><vertex x="0" y="10" z="0"/><vertex x="0" y="0" z="10"/></vertices><triangles><triangle v1="0" v2="2" v3="1"/><triangle v1="0" v2="1" v3="3"/><triangle v1="0" v2="3" v3="2"/><triangle v1="1" v2="2" v3="3"/></triangles></mesh></object>"#;

fn threemf(model: &str) -> Vec<u8> {
    zip_of(&[(
        "3D/3dmodel.model",
        model.as_bytes(),
        zip::CompressionMethod::Deflated,
    )])
}

#[test]
fn threemf_without_rels_mirrors_and_components() {
    // No _rels/.rels: the conventional path is used. Two items, one mirrored in x.
    let model = format!(
        r#"{MODEL_HEAD}{TETRA}</resources><build><item objectid="1"/><item objectid="1" transform="-1 0 0 0 1 0 0 0 1 -5 0 0"/></build></model>"#
    );
    let analysis = load_and_analyze(&threemf(&model)).expect("3mf");
    let tetra = 1000.0 / 6.0;
    assert!(
        (analysis.volume_mm3 - 2.0 * tetra).abs() < 1e-9,
        "a mirrored copy keeps positive volume: {}",
        analysis.volume_mm3
    );
    assert_eq!(analysis.shells.len(), 2);
    assert!(analysis.watertight && analysis.winding_consistent);
}

#[test]
fn threemf_errors() {
    let bad_index = format!(
        r#"{MODEL_HEAD}<object id="1"><mesh><vertices><vertex x="0" y="0" z="0"/></vertices><triangles><triangle v1="0" v2="0" v3="7"/></triangles></mesh></object></resources><build><item objectid="1"/></build></model>"#
    );
    let err = load(&threemf(&bad_index)).expect_err("bad index");
    assert!(
        err.to_string()
            .contains("triangle 0 references vertex 7 but the object has 1 vertices"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("3MF entry 3D/3dmodel.model: byte "),
        "{err}"
    );

    let bad_number =
        format!(r#"{MODEL_HEAD}<object id="1"><mesh><vertices><vertex x="0" y="zero" z="0"/>"#);
    let err = load(&threemf(&bad_number)).expect_err("bad number");
    assert!(
        err.to_string().ends_with("`y` is not a number: `zero`"),
        "{err}"
    );

    let missing =
        format!(r#"{MODEL_HEAD}{TETRA}</resources><build><item objectid="9"/></build></model>"#);
    let err = load(&threemf(&missing)).expect_err("missing object");
    assert!(
        err.to_string().ends_with("object 9 is not defined"),
        "{err}"
    );

    let cycle = format!(
        r#"{MODEL_HEAD}<object id="1"><components><component objectid="2"/></components></object><object id="2"><components><component objectid="1"/></components></object></resources><build><item objectid="1"/></build></model>"#
    );
    let err = load(&threemf(&cycle)).expect_err("cycle");
    assert!(
        err.to_string()
            .contains("components nest deeper than 32 levels"),
        "{err}"
    );

    let unit = format!(
        r#"{}{TETRA}</resources><build><item objectid="1"/></build></model>"#,
        MODEL_HEAD.replace("millimeter", "furlong")
    );
    let err = load(&threemf(&unit)).expect_err("unit");
    assert!(err.to_string().contains("unknown unit `furlong`"), "{err}");

    let err = load(b"PK\x03\x04 not really a zip").expect_err("not a zip");
    assert_eq!(err.kind(), "archive", "{err}");
    let err = load(&zip_of(&[(
        "other.txt",
        b"hello",
        zip::CompressionMethod::Stored,
    )]))
    .expect_err("no model");
    assert_eq!(
        err.to_string(),
        "3MF archive: the model part `3D/3dmodel.model` named by _rels/.rels is not in the archive"
    );
}

#[test]
fn threemf_refuses_zip_bombs() {
    // 8 MiB of spaces deflate to a few kilobytes: well past the ratio real models have.
    let spaces = vec![b' '; 8 << 20];
    let bomb = zip_of(&[(
        "3D/3dmodel.model",
        &spaces,
        zip::CompressionMethod::Deflated,
    )]);
    let err = load(&bomb).expect_err("bomb");
    assert_eq!(err.kind(), "3mf");
    assert!(
        err.to_string().contains("refused as a possible zip bomb"),
        "{err}"
    );

    // An entry larger than the input limit is refused before it is inflated: 2 MiB of digits
    // deflate to well under 1 MiB (an honest ratio), but inflate past the limit of 1 MiB.
    let mut state = 12345u32;
    let digits: Vec<u8> = (0..2 << 20)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'0' + (state >> 16) as u8 % 10
        })
        .collect();
    let archive = zip_of(&[(
        "3D/3dmodel.model",
        &digits,
        zip::CompressionMethod::Deflated,
    )]);
    assert!(archive.len() < 1 << 20);
    let limits = mesh::Limits {
        max_input_bytes: 1 << 20,
        max_triangles: 1000,
    };
    let err = mesh::parse(
        &archive,
        &LoadOptions {
            limits,
            ..LoadOptions::default()
        },
    )
    .expect_err("too big once inflated");
    assert!(matches!(err, MeshError::ThreeMf { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("inflates to 2097152 bytes, above the limit of 1048576 bytes"),
        "{err}"
    );
}

#[test]
fn unknown_and_empty_inputs() {
    check_error(b"", "empty", "the input is empty");
    check_error(
        b"hello",
        "unknown_format",
        "unrecognised format: 5 bytes that are not a binary STL (shorter than its 84-byte header), an ASCII STL (no `solid`), an OBJ or a 3MF",
    );
}

/// A binary STL streamed in chunks welds to exactly the mesh parsed from memory, and the
/// analysis does not depend on the number of threads.
#[test]
fn streamed_welding_equals_in_memory_and_threads_do_not_matter() {
    let cube = fixture("cube_10mm.stl");
    let records = &cube[84..];
    // 10 000 cubes in a row, touching face to face: 120 000 triangles sharing vertices.
    let n_cubes = 10_000u32;
    let mut bytes = cube[..80].to_vec();
    bytes.extend_from_slice(&(12 * n_cubes).to_le_bytes());
    for k in 0..n_cubes {
        for record in records.chunks_exact(50) {
            let mut record = record.to_vec();
            for corner in 0..3 {
                let at = 12 + corner * 12;
                let x = f32::from_le_bytes(record[at..at + 4].try_into().expect("4 bytes"))
                    + 10.0 * k as f32;
                record[at..at + 4].copy_from_slice(&x.to_le_bytes());
            }
            bytes.extend_from_slice(&record);
        }
    }
    let from_memory = load(&bytes).expect("parses");
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let streamed = pool
            .install(|| mesh::parse_reader(&bytes[..], bytes.len() as u64, &LoadOptions::default()))
            .expect("streams");
        assert_eq!(
            streamed.positions(),
            from_memory.positions(),
            "{threads} threads"
        );
        assert_eq!(
            streamed.triangles(),
            from_memory.triangles(),
            "{threads} threads"
        );
    }
    // Each cube encloses 1000 mm3 whatever the topology where they touch.
    let analysis = pricing_engine::analyze(&from_memory);
    assert!(
        (analysis.volume_mm3 - 1.0e7).abs() < 1e-9 * 1.0e7,
        "{}",
        analysis.volume_mm3
    );
}

/// The production extension (Bambu Studio and others): the root part's components place
/// objects of other model parts through `p:path`.
#[test]
fn threemf_components_in_other_parts() {
    const PRODUCTION: &str =
        r#"xmlns:p="http://schemas.microsoft.com/3dmanufacturing/production/2015/06""#;
    let root = format!(
        r#"<?xml version="1.0"?><model unit="centimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02" {PRODUCTION}><resources><object id="7"><components><component p:path="/3D/Objects/object_1.model" objectid="1" transform="1 0 0 0 1 0 0 0 1 0 0 0"/><component p:path="/3D/Objects/object_1.model" objectid="1" transform="-1 0 0 0 1 0 0 0 1 -5 0 0"/></components></object></resources><build><item objectid="7"/></build></model>"#
    );
    let part = format!("{MODEL_HEAD}{TETRA}</resources><build/></model>");
    let archive = zip_of(&[
        (
            "3D/3dmodel.model",
            root.as_bytes(),
            zip::CompressionMethod::Deflated,
        ),
        (
            "3D/Objects/object_1.model",
            part.as_bytes(),
            zip::CompressionMethod::Deflated,
        ),
    ]);
    let analysis = load_and_analyze(&archive).expect("3mf with parts");
    // Two tetrahedra of 1000/6 cm3 each, read in the root part's centimetres.
    let expected = 2.0 * 1000.0 / 6.0 * 1000.0;
    assert!(
        (analysis.volume_mm3 - expected).abs() < 1e-9 * expected,
        "{}",
        analysis.volume_mm3
    );
    assert_eq!(analysis.shells.len(), 2);
    assert!(analysis.watertight && analysis.winding_consistent);

    let missing = zip_of(&[(
        "3D/3dmodel.model",
        root.as_bytes(),
        zip::CompressionMethod::Deflated,
    )]);
    let err = load(&missing).expect_err("the part is missing");
    assert_eq!(
        err.to_string(),
        "3MF entry 3D/3dmodel.model: a component names the model part `3D/Objects/object_1.model`, which is not in the archive"
    );
}
