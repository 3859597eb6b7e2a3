//! Every model of `../shared/models` against trimesh's figures in
//! `../shared/refs/dev_reference.json`.
//!
//! Compared: the triangle count; watertightness and the number of bodies as the `geom_*`
//! fields give them (vertices merged by position only, which is what a geometry engine
//! does); the bounding box; and, where trimesh finds the mesh watertight, volume and area
//! within 1e-6 relative.
//!
//! Where we differ on purpose:
//! - `trimesh__multibody.stl` is watertight but inconsistently wound, so the signed sum that
//!   trimesh reports (0.0140405) depends on where it is measured from and is not the volume of
//!   any solid. We orient each shell consistently first. trimesh agrees once it does the same:
//!   `m = trimesh.load(path, force="mesh"); trimesh.repair.fix_normals(m, multibody=True);
//!   m.volume` gives 0.007423220546172876 (trimesh 5.2.0), which we check instead.

use serde_json::Value;

use super::{load_and_analyze, relative, repo_root, shared_models};

/// trimesh's volume after `fix_normals(multibody=True)`, see the module comment.
const MULTIBODY_FIXED_VOLUME: f64 = 0.007_423_220_546_172_876;

#[test]
fn shared_models_agree_with_trimesh() {
    let Some(models) = shared_models() else {
        return;
    };
    let text = std::fs::read_to_string(repo_root().join("../shared/refs/dev_reference.json"))
        .expect("dev_reference.json");
    let references: Vec<Value> = serde_json::from_str(&text).expect("dev_reference.json is JSON");
    assert!(!references.is_empty());
    let mut failures = Vec::new();
    eprintln!(
        "{:<52} {:>10} {:>10} {:>6} {:>6}",
        "file", "d volume", "d area", "water", "bodies"
    );
    for reference in &references {
        let name = reference["name"].as_str().expect("name");
        let bytes = std::fs::read(models.join(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        let analysis = match load_and_analyze(&bytes) {
            Ok(analysis) => analysis,
            Err(err) => {
                failures.push(format!("{name}: {err}"));
                continue;
            }
        };
        let mut fail = |what: String| failures.push(format!("{name}: {what}"));
        let watertight = reference["geom_is_watertight"]
            .as_bool()
            .expect("geom_is_watertight");
        let bodies = reference["geom_bodies"].as_u64().expect("geom_bodies");
        let volume = reference["volume"].as_f64().expect("volume");
        let area = reference["area"].as_f64().expect("area");
        let want_volume = if name == "trimesh__multibody.stl" {
            MULTIBODY_FIXED_VOLUME
        } else {
            volume
        };
        let (d_volume, d_area) = (
            relative(analysis.volume_mm3, want_volume),
            relative(analysis.area_mm2, area),
        );
        eprintln!(
            "{name:<52} {d_volume:>10.1e} {d_area:>10.1e} {:>6} {:>6}",
            analysis.watertight == watertight,
            analysis.shells.len() as u64 == bodies
        );
        if analysis.n_triangles_in_file != reference["triangles"].as_u64().expect("triangles") {
            fail(format!(
                "triangles {} vs trimesh {}",
                analysis.n_triangles_in_file, reference["triangles"]
            ));
        }
        if analysis.watertight != watertight {
            fail(format!(
                "watertight {} vs trimesh {watertight}",
                analysis.watertight
            ));
        }
        if analysis.shells.len() as u64 != bodies {
            fail(format!(
                "{} shells vs trimesh {bodies} bodies",
                analysis.shells.len()
            ));
        }
        if watertight && (d_volume > 1e-6 || d_area > 1e-6) {
            fail(format!(
                "volume {} vs {want_volume} ({d_volume:.1e}), area {} vs {area} ({d_area:.1e})",
                analysis.volume_mm3, analysis.area_mm2
            ));
        }
        let size = analysis.size_mm().into_iter().fold(0.0f64, f64::max);
        for (key, got) in [
            ("bbox_min", analysis.bbox_min),
            ("bbox_max", analysis.bbox_max),
        ] {
            let want: Vec<f64> = reference[key]
                .as_array()
                .expect(key)
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            if (0..3).any(|axis| (got[axis] - want[axis]).abs() > 1e-6 * size) {
                fail(format!("{key} {got:?} vs trimesh {want:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with trimesh:\n{}",
        failures.join("\n")
    );
}
