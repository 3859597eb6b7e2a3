//! The generated fixtures in `fixtures/models/` against the answers in `expected.json`, which
//! the generator computed from geometry (not from the engine).

use serde_json::Value;

use super::{fixture, load_and_analyze, relative, repo_root};

fn check(name: &str, expected: &Value) {
    let analysis = load_and_analyze(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
    let field = |key: &str| {
        expected
            .get(key)
            .unwrap_or_else(|| panic!("{name}: expected.json lacks {key}"))
    };
    let number = |key: &str| {
        field(key)
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: {key} is not a number"))
    };

    assert_eq!(
        analysis.n_triangles_in_file,
        number("triangles") as u64,
        "{name}: triangles"
    );
    assert_eq!(
        analysis.n_vertices,
        number("vertices") as u64,
        "{name}: vertices"
    );
    assert!(
        relative(analysis.volume_mm3, number("volume_mm3")) < 1e-6,
        "{name}: volume {} expected {}",
        analysis.volume_mm3,
        number("volume_mm3")
    );
    assert!(
        relative(analysis.area_mm2, number("area_mm2")) < 1e-6,
        "{name}: area {} expected {}",
        analysis.area_mm2,
        number("area_mm2")
    );
    let tolerance = expected
        .get("bbox_tolerance_mm")
        .and_then(Value::as_f64)
        .unwrap_or(1e-9);
    for (key, got) in [
        ("bbox_min", analysis.bbox_min),
        ("bbox_max", analysis.bbox_max),
    ] {
        let want: Vec<f64> = field(key)
            .as_array()
            .expect("bbox is an array")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        for axis in 0..3 {
            assert!(
                (got[axis] - want[axis]).abs() <= tolerance,
                "{name}: {key} {got:?} expected {want:?}"
            );
        }
    }
    assert_eq!(
        analysis.shells.len() as u64,
        number("shells") as u64,
        "{name}: shells"
    );
    assert_eq!(
        Value::Bool(analysis.watertight),
        *field("watertight"),
        "{name}: watertight"
    );
    assert_eq!(
        Value::Bool(analysis.winding_consistent),
        *field("winding_consistent"),
        "{name}: winding"
    );
    assert_eq!(
        analysis.boundary_edges,
        number("boundary_edges") as u64,
        "{name}: boundary edges"
    );
    assert_eq!(
        analysis.non_manifold_edges,
        number("non_manifold_edges") as u64,
        "{name}: non-manifold edges"
    );
    assert_eq!(
        analysis.degenerate_triangles,
        number("degenerate_triangles") as u64,
        "{name}: degenerate"
    );
    assert_eq!(
        analysis.inverted_shells() as u64,
        number("inverted_shells") as u64,
        "{name}: inverted shells"
    );
    let kinds: Vec<&str> = analysis.warnings.iter().map(|w| w.kind).collect();
    let want_kinds: Vec<&str> = field("warnings")
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        kinds, want_kinds,
        "{name}: warnings {:?}",
        analysis.warnings
    );
    if let Some(format) = expected.get("format").and_then(Value::as_str) {
        assert_eq!(analysis.format.name(), format, "{name}: format");
    }
    if let Some(euler) = expected.get("euler_number").and_then(Value::as_i64) {
        assert_eq!(analysis.euler_number, euler, "{name}: euler number");
    }
    if let Some(volumes) = expected.get("shell_volumes_mm3").and_then(Value::as_array) {
        let got: Vec<f64> = analysis.shells.iter().map(|s| s.volume_mm3).collect();
        let want: Vec<f64> = volumes.iter().filter_map(Value::as_f64).collect();
        assert_eq!(got.len(), want.len(), "{name}: shell volumes {got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                relative(*g, *w) < 1e-6,
                "{name}: shell volumes {got:?} expected {want:?}"
            );
        }
    }
}

#[test]
fn every_fixture_matches_its_expected_analysis() {
    let text = std::fs::read_to_string(repo_root().join("fixtures/models/expected.json"))
        .expect("expected.json");
    let expected: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let entries = expected.as_object().expect("an object of fixtures");
    assert!(
        entries.len() >= 13,
        "the fixture list shrank: {}",
        entries.len()
    );
    for (name, want) in entries {
        check(name, want);
    }
}
