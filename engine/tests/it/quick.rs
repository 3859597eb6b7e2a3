//! The quick measure (`analyze --quick`): volume, area and bounding box straight from the
//! triangles, with no welding. It must give the analysis's figures, read in memory or streamed,
//! and refuse the same bad coordinates, naming the first bad face in file order.

use std::io::Cursor;

use pricing_engine::analysis::{QuickMeasure, quick_measure, quick_measure_reader};
use pricing_engine::mesh::{LoadOptions, SNAP_TO_ZERO_MM, Unit};
use pricing_engine::{analyze, parse};

use super::{cuboid, relative, repo_root, shared_models, stl_bytes};

/// Both entry points, which must agree to the bit: the in-memory one and the streamed one
/// (a binary STL is measured in parallel chunks as it is read).
fn both(bytes: &[u8], options: &LoadOptions) -> Result<QuickMeasure, String> {
    let in_memory = quick_measure(bytes, options).map_err(|err| err.to_string());
    let streamed = quick_measure_reader(Cursor::new(bytes), bytes.len() as u64, options)
        .map_err(|err| err.to_string());
    assert_eq!(in_memory, streamed, "in memory and streamed differ");
    in_memory.map(|(_, measure)| measure)
}

/// Compares one file's quick measure with its analysis; returns what disagrees.
fn compare(name: &str, bytes: &[u8]) -> Vec<String> {
    let options = LoadOptions::default();
    let analysis = match parse(bytes, &options) {
        Ok(mesh) => analyze(&mesh),
        Err(err) => {
            let quick = both(bytes, &options);
            return match quick {
                Err(message) if message == err.to_string() => Vec::new(),
                other => vec![format!(
                    "{name}: parse refuses ({err}) but quick gives {other:?}"
                )],
            };
        }
    };
    let quick = match both(bytes, &options) {
        Ok(quick) => quick,
        Err(err) => return vec![format!("{name}: quick refuses a readable file: {err}")],
    };
    let mut failures = Vec::new();
    if quick.n_triangles != analysis.n_triangles_in_file {
        failures.push(format!(
            "{name}: {} triangles against {}",
            quick.n_triangles, analysis.n_triangles_in_file
        ));
    }
    // The welder snaps coordinates within a nanometre of zero to zero (CAD rounding residue,
    // see `SNAP_TO_ZERO_MM`); the quick measure does not weld, so it may keep such a residue.
    let snap = f64::from(SNAP_TO_ZERO_MM);
    let near =
        |a: [f64; 3], b: [f64; 3]| (0..3).all(|i| a[i] == b[i] || (a[i] - b[i]).abs() < snap);
    if !near(quick.bbox_min, analysis.bbox_min) || !near(quick.bbox_max, analysis.bbox_max) {
        failures.push(format!(
            "{name}: box {:?} {:?} against {:?} {:?}",
            quick.bbox_min, quick.bbox_max, analysis.bbox_min, analysis.bbox_max
        ));
    }
    if relative(quick.area_mm2, analysis.area_mm2) > 1e-9 {
        failures.push(format!(
            "{name}: area {} against {}",
            quick.area_mm2, analysis.area_mm2
        ));
    }
    // The analysis orients each shell before it sums; the quick measure takes the faces as
    // they are, so the two agree where the winding already is consistent.
    if analysis.winding_consistent && relative(quick.volume_mm3, analysis.volume_mm3) > 1e-9 {
        failures.push(format!(
            "{name}: volume {} against {}",
            quick.volume_mm3, analysis.volume_mm3
        ));
    }
    failures
}

#[test]
fn the_quick_measure_agrees_with_the_analysis() {
    let mut dirs = vec![repo_root().join("fixtures/models")];
    dirs.extend(shared_models());
    let mut failures = Vec::new();
    let mut compared = 0;
    for dir in dirs {
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("a model folder")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .to_string();
            if name.ends_with(".md") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable");
            failures.extend(compare(&name, &bytes));
            compared += 1;
        }
    }
    assert!(compared >= 13, "only {compared} models compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A binary STL of many boxes: more faces than one streamed chunk (8192) holds.
fn many_boxes(count: usize) -> Vec<u8> {
    let triangles: Vec<_> = (0..count)
        .flat_map(|k| cuboid([k as f32 * 3.0, 0.0, 0.0], [2.0, 2.0, 2.0]))
        .collect();
    stl_bytes(&triangles)
}

/// The parser's error for a file it must refuse (the mesh is not printed if it reads it).
fn refusal(bytes: &[u8], options: &LoadOptions) -> String {
    match parse(bytes, options) {
        Ok(_) => panic!("the parser read a file it must refuse"),
        Err(err) => err.to_string(),
    }
}

/// The byte offset of one coordinate of a binary STL: face, corner, axis.
fn at(face: usize, corner: usize, axis: usize) -> usize {
    84 + face * 50 + 12 + corner * 12 + axis * 4
}

#[test]
fn a_bad_coordinate_is_named_wherever_it_is() {
    let clean = many_boxes(2000);
    let options = LoadOptions::default();
    let quick = both(&clean, &options).expect("clean boxes");
    assert_eq!(quick.n_triangles, 24_000);
    assert!(
        relative(quick.volume_mm3, 2000.0 * 8.0) < 1e-12,
        "{quick:?}"
    );
    assert!(relative(quick.area_mm2, 2000.0 * 24.0) < 1e-12, "{quick:?}");

    // Every axis and corner, NaN and both infinities; in the first chunk, a later one, and the
    // last face. With two bad faces, the first in file order is named.
    let cases: [(usize, usize, usize, f32); 6] = [
        (0, 0, 0, f32::NAN),
        (5000, 1, 1, f32::INFINITY),
        (9000, 2, 2, f32::NEG_INFINITY),
        (17_000, 2, 0, f32::NAN),
        (23_999, 1, 2, f32::INFINITY),
        (12_345, 0, 1, f32::NEG_INFINITY),
    ];
    for (face, corner, axis, value) in cases {
        let mut bytes = clean.clone();
        let offset = at(face, corner, axis);
        bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        let want = refusal(&bytes, &options);
        assert!(want.contains(&format!("face {face} ")), "{want}");
        assert_eq!(both(&bytes, &options).expect_err("quick refuses"), want);

        let later = (face + 7000).min(23_999);
        if later > face {
            let offset = at(later, 0, 0);
            bytes[offset..offset + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            assert_eq!(both(&bytes, &options).expect_err("quick refuses"), want);
        }
    }

    // Finite in the file, infinite once converted: 2e37 inches overflow f32 millimetres.
    let mut bytes = clean.clone();
    let offset = at(10_000, 1, 0);
    bytes[offset..offset + 4].copy_from_slice(&2e37f32.to_le_bytes());
    let inches = LoadOptions {
        unit: Unit::Inch,
        ..LoadOptions::default()
    };
    let want = refusal(&bytes, &inches);
    assert!(want.contains("face 10000 "), "{want}");
    assert_eq!(both(&bytes, &inches).expect_err("quick refuses"), want);
    // Huge finite coordinates are measured, not refused.
    let quick = both(&bytes, &options).expect("2e37 mm is finite");
    assert!(
        quick.area_mm2.is_finite() && quick.bbox_max[0] == f64::from(2e37f32),
        "{quick:?}"
    );
}

#[test]
fn a_file_without_triangles_is_refused_as_the_parser_refuses_it() {
    // The fuzzer's first find: an empty binary STL was measured as zeros.
    let options = LoadOptions::default();
    let empty_binary = stl_bytes(&[]);
    for bytes in [&empty_binary[..], b"solid empty\nendsolid empty\n"] {
        let want = refusal(bytes, &options);
        assert!(want.contains("no triangles"), "{want}");
        assert_eq!(both(bytes, &options).expect_err("quick refuses"), want);
    }
}
