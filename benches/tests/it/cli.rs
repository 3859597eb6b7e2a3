//! The command line, run as a process.

use std::process::Command;

use serde_json::Value;

use super::repo_root;

fn pricing_bench(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pricing-bench"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect()
}

#[test]
fn analyze_json_keeps_the_contract() {
    let bad = std::env::temp_dir().join(format!("pricing-bad-{}.stl", std::process::id()));
    std::fs::write(
        &bad,
        b"solid broken\nfacet normal 0 0 1\nouter loop\nvertex 1 2\n",
    )
    .expect("write");
    let bad_path = bad.display().to_string();
    let (code, stdout, _) = pricing_bench(&[
        "analyze",
        "--json",
        "fixtures/models/cube_10mm.stl",
        "fixtures/models/no_such_file.stl",
        &bad_path,
        "fixtures/models/quads_negative_indices.obj",
    ]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, 1, "a failed file makes the exit code 1");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 4, "one line per file: {stdout}");

    let cube = &lines[0];
    let contract = [
        "file",
        "format",
        "triangles",
        "vertices",
        "volume_mm3",
        "area_mm2",
        "bbox_min",
        "bbox_max",
        "shells",
        "watertight",
        "winding_consistent",
        "boundary_edges",
        "non_manifold_edges",
        "degenerate_triangles",
        "warnings",
    ];
    for key in contract {
        assert!(cube.get(key).is_some(), "missing {key}: {cube}");
    }
    assert_eq!(cube["file"], "fixtures/models/cube_10mm.stl");
    assert_eq!(cube["format"], "stl-binary");
    assert_eq!(cube["volume_mm3"], 1000.0);
    assert_eq!(cube["bbox_max"], serde_json::json!([10.0, 10.0, 10.0]));
    assert_eq!(cube["warnings"], serde_json::json!([]));

    assert_eq!(lines[1]["file"], "fixtures/models/no_such_file.stl");
    assert_eq!(lines[1]["error"]["kind"], "io");
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .expect("message")
            .contains("No such file")
    );
    assert_eq!(lines[2]["error"]["kind"], "syntax");
    assert_eq!(
        lines[2]["error"]["message"],
        "ASCII STL line 4: the file ends where a number for a vertex coordinate was expected"
    );
    assert_eq!(lines[3]["format"], "obj");
}

#[test]
fn analyze_unit_flag_scales() {
    let (code, stdout, _) = pricing_bench(&[
        "analyze",
        "--json",
        "--unit",
        "in",
        "fixtures/models/cube_10mm.stl",
    ]);
    assert_eq!(code, 0);
    let volume = json_lines(&stdout)[0]["volume_mm3"]
        .as_f64()
        .expect("volume");
    assert!(
        (volume - 254f64.powi(3)).abs() < 1e-6 * 254f64.powi(3),
        "{volume}"
    );
    let (code, _, stderr) = pricing_bench(&[
        "analyze",
        "--unit",
        "furlong",
        "fixtures/models/cube_10mm.stl",
    ]);
    assert_eq!(code, 2, "a usage error");
    assert!(stderr.contains("furlong"), "{stderr}");
}

#[test]
fn analyze_text_and_quick() {
    let (code, stdout, _) = pricing_bench(&["analyze", "fixtures/models/open_box.stl"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("watertight    no (4 boundary, 0 non-manifold edges)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning       the mesh is not watertight"),
        "{stdout}"
    );
    let (code, stdout, _) =
        pricing_bench(&["analyze", "--quick", "fixtures/models/torus_r20_r5.stl"]);
    assert_eq!(code, 0);
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["triangles"], 2304);
    assert!(line["volume_mm3"].as_f64().expect("volume") > 9000.0);
}

#[test]
fn run_benchmarks_a_folder() {
    let (code, stdout, stderr) =
        pricing_bench(&["run", "fixtures/models", "--repeat", "1", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 13, "{stdout}");
    for line in &lines {
        for key in [
            "read_ms",
            "parse_ms",
            "quick_ms",
            "weld_ms",
            "analyse_ms",
            "triangles_per_s",
            "mb_per_s",
        ] {
            assert!(
                line[key].as_f64().is_some_and(|v| v >= 0.0),
                "{key} in {line}"
            );
        }
    }
    let (code, stdout, _) = pricing_bench(&["run", "fixtures/models", "--repeat", "1", "--csv"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("file,bytes,triangles,read_ms"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 14);
}

#[test]
fn materials_lists_the_price_book() {
    let (code, stdout, _) = pricing_bench(&["materials"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("pla              PLA              fdm      mk3s"),
        "{stdout}"
    );
    assert!(stdout.contains("25.00 EUR"), "{stdout}");
    let (code, stdout, _) = pricing_bench(&["materials", "--json"]);
    assert_eq!(code, 0);
    let pla = json_lines(&stdout)
        .into_iter()
        .find(|m| m["id"] == "pla")
        .expect("pla");
    assert_eq!(pla["price_per_kg_minor"], 2500);
    assert_eq!(pla["technology"], "fdm");

    let bad = std::env::temp_dir().join(format!("pricing-book-{}.toml", std::process::id()));
    std::fs::write(
        &bad,
        pricing_engine::pricing::DEFAULT_PRICE_BOOK_TOML
            .replace("density_g_cm3 = 1.24", "density_g_cm3 = 0"),
    )
    .expect("write");
    let (code, _, stderr) =
        pricing_bench(&["materials", "--price-book", &bad.display().to_string()]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "price book field `materials.pla.density_g_cm3` must be a positive number, got 0"
        ),
        "{stderr}"
    );
}

#[test]
fn quote_json_keeps_the_contract() {
    let (code, stdout, stderr) = pricing_bench(&[
        "quote",
        "--json",
        "--material",
        "pla",
        "--quantity",
        "10",
        "--priority",
        "high",
        "fixtures/models/cube_10mm.stl",
        "fixtures/models/no_such_file.stl",
        "fixtures/models/torus_r20_r5.stl",
    ]);
    assert_eq!(code, 1, "a failed file makes the exit code 1: {stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 3, "one line per file: {stdout}");
    for quote in [&lines[0], &lines[2]] {
        for key in [
            "file",
            "technology",
            "material",
            "orientation",
            "support_volume_mm3",
            "print_time_s",
            "material_g",
            "lines",
            "unit_price_minor",
            "total_minor",
            "currency",
            "price_book_version",
            "layers",
            "filament_mm",
            "warnings",
            "alternatives",
        ] {
            assert!(quote.get(key).is_some(), "{key} missing: {quote}");
        }
        assert_eq!(quote["technology"], "fdm");
        assert_eq!(quote["material"], "pla");
        assert_eq!(quote["priority"], "high");
        let lines = quote["lines"].as_array().expect("lines");
        assert!(lines.iter().any(|l| l["kind"] == "priority_surcharge"));
        assert!(lines.iter().any(|l| l["kind"] == "quantity_discount"));
        let unit: i64 = lines
            .iter()
            .map(|l| l["amount_minor"].as_i64().expect("int"))
            .sum();
        assert_eq!(unit, quote["unit_price_minor"].as_i64().expect("int"));
        assert_eq!(quote["total_minor"].as_i64(), Some(unit * 10));
        assert_eq!(quote["alternatives"].as_array().map(Vec::len), Some(3));
    }
    // The 10 mm cube at 0.2 mm layers.
    assert_eq!(lines[0]["layers"], 50);
    assert_eq!(lines[1]["error"]["kind"], "io");

    // The same again gives the same quote id.
    let (_, again, _) = pricing_bench(&[
        "quote",
        "--json",
        "--quantity",
        "10",
        "--priority",
        "high",
        "fixtures/models/cube_10mm.stl",
    ]);
    assert_eq!(json_lines(&again)[0]["quote_id"], lines[0]["quote_id"]);
}

#[test]
fn quote_refuses_unknown_materials_and_prints_a_table() {
    let (code, stdout, _) = pricing_bench(&[
        "quote",
        "--json",
        "--material",
        "unobtainium",
        "fixtures/models/cube_10mm.stl",
    ]);
    assert_eq!(code, 1);
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["error"]["kind"], "unknown_material");
    assert!(
        line["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("pla")
    );

    let (code, stdout, _) = pricing_bench(&[
        "quote",
        "--orientation",
        "keep",
        "--supports",
        "off",
        "--material",
        "standard_resin",
        "fixtures/models/uv_sphere_r10.stl",
    ]);
    assert_eq!(code, 0, "{stdout}");
    for expected in [
        "sla on form3",
        "unit price",
        "total",
        "EUR",
        "standing on file",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
}
