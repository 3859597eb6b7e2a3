//! Shared by every target: parse with small limits, analyse whatever parses, and check the
//! figures are finite.

use pricing_engine::mesh::{self, Limits, LoadOptions};

pub fn exercise(bytes: &[u8]) {
    let options = LoadOptions { limits: Limits { max_input_bytes: 1 << 20, max_triangles: 50_000 }, ..LoadOptions::default() };
    let parsed = mesh::parse(bytes, &options);
    if let Ok(mesh) = &parsed {
        let analysis = pricing_engine::analyze(mesh);
        assert!(analysis.volume_mm3.is_finite() && analysis.area_mm2.is_finite());
    }
    let _ = mesh::parse_reader(bytes, bytes.len() as u64, &options);
    let quick = pricing_engine::analysis::quick_measure(bytes, &options);
    if let Ok((_, quick)) = &quick {
        assert!(quick.volume_mm3.is_finite() && quick.area_mm2.is_finite());
    }
    // The quick measure refuses what the parser refuses, with the same words.
    match (&parsed, &quick) {
        (Ok(_), Ok(_)) => {}
        (Err(parse), Err(quick)) => assert_eq!(parse.to_string(), quick.to_string()),
        (parse, quick) => panic!("parse {:?} against quick {:?}", parse.as_ref().err(), quick.as_ref().err()),
    }
}
