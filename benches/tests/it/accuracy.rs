//! A regression guard on the FDM estimate against PrusaSlicer, over the reference models.
//!
//! The bounds are issue #3's targets (time: median 10%, worst 25%; filament 10%; support mass
//! 35%) where the estimate meets them, else today's accuracy: they stop it from getting worse
//! while it is improved. Tighten them as it improves; never loosen them.

use pricing_bench::accuracy;

use super::repo_root;

#[test]
fn the_fdm_estimate_does_not_regress() {
    let reference = repo_root().join("../shared/refs/dev_slicer_reference.json");
    let models = repo_root().join("../shared/models");
    if !reference.exists() || !models.is_dir() {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "CI=true but the shared references are missing"
        );
        eprintln!(
            "SKIPPED: {} or {} is missing",
            reference.display(),
            models.display()
        );
        return;
    }
    let rows = accuracy::rows(&reference, &[models]).expect("estimates");
    assert!(rows.len() >= 20, "{} models", rows.len());
    eprint!("{}", accuracy::report(&rows, false));
    let median = |mut errors: Vec<f64>| {
        errors.sort_by(f64::total_cmp);
        errors[errors.len() / 2]
    };
    let summary = accuracy::summary(&rows);
    // Each figure against its limit: issue #3's target where it is met (the worst time since
    // the print's start and end moves and the perimeter cap of thin sections are modelled; the
    // worst filament since open contours are joined or dropped as the slicer does and
    // overlapping bodies united;
    // the supports-on figures since supports grow to whole pattern cells trimmed by the part,
    // are joined along their outlines and stand on an expanded first layer; the support mass
    // since the pattern is laid from the part's centre, supports keep their gaps from the part
    // and only shallow overhangs get an interface, and a contact under a slope reaches a
    // layer's step; the supports-on figures again since every contact a support passes gets
    // its interface), else today's figure with a little room, so that no change makes it worse
    // unseen.
    for (what, error, limit, was) in [
        (
            "median time error",
            median(rows.iter().map(|r| r.time_error().abs()).collect()),
            0.10,
            5.5,
        ),
        (
            "median filament error",
            median(rows.iter().map(|r| r.filament_error().abs()).collect()),
            0.05,
            1.6,
        ),
        ("worst time error", summary.time.1, 0.25, 16.2),
        ("worst filament error", summary.filament.1, 0.10, 5.8),
        (
            "median supports-on time error",
            summary.supported_time.0,
            0.10,
            3.7,
        ),
        (
            "worst supports-on time error",
            summary.supported_time.1,
            0.25,
            14.7,
        ),
        (
            "median support mass error",
            summary.support_mass.0,
            0.10,
            5.8,
        ),
        (
            "worst support mass error",
            summary.support_mass.1,
            0.35,
            19.9,
        ),
    ] {
        assert!(
            error <= limit,
            "{what} {:.1}% (engine 0.17.0: {was:.1}%)",
            error * 100.0
        );
    }
}

/// Where Debian's packages put the held-out models (`prusa-slicer` brings both: the shapes,
/// and through its OpenCASCADE libraries `occt-misc`'s sample parts).
const HELD_OUT_FOLDERS: [&str; 2] = [
    "/usr/share/opencascade/data/stl",
    "/usr/share/PrusaSlicer/shapes",
];

/// The same guard on 17 models the estimate was never tuned on (`benches/refs/
/// debian_slicer_reference.json`, PrusaSlicer 2.5 with the reference profile), held to issue
/// #3's targets: all of them hold there since engine 0.17.0 (before, the supports-on worst was
/// a 13 mm screw at -36.6%, whose thread PrusaSlicer supports with interface nearly all the
/// way up; now -21.5%). CI installs the package; elsewhere the test says it skipped.
#[test]
fn the_fdm_estimate_holds_on_models_it_was_not_tuned_on() {
    let reference = repo_root().join("benches/refs/debian_slicer_reference.json");
    let folders: Vec<std::path::PathBuf> = HELD_OUT_FOLDERS.iter().map(Into::into).collect();
    if !folders.iter().all(|folder| folder.is_dir()) {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "CI=true but {HELD_OUT_FOLDERS:?} are missing (apt-get install prusa-slicer)"
        );
        eprintln!("SKIPPED: {HELD_OUT_FOLDERS:?} are missing (apt-get install prusa-slicer)");
        return;
    }
    let rows = accuracy::rows(&reference, &folders).expect("estimates");
    assert_eq!(rows.len(), 17, "every model the reference sliced");
    eprint!("{}", accuracy::report(&rows, false));
    let median = |mut errors: Vec<f64>| {
        errors.sort_by(f64::total_cmp);
        errors[errors.len() / 2]
    };
    let summary = accuracy::summary(&rows);
    for (what, error, limit) in [
        (
            "median time error",
            median(rows.iter().map(|r| r.time_error().abs()).collect()),
            0.10,
        ),
        (
            "median filament error",
            median(rows.iter().map(|r| r.filament_error().abs()).collect()),
            0.10,
        ),
        ("worst time error", summary.time.1, 0.25),
        ("worst filament error", summary.filament.1, 0.10),
        (
            "median supports-on time error",
            summary.supported_time.0,
            0.10,
        ),
        (
            "worst supports-on time error",
            summary.supported_time.1,
            0.25,
        ),
        ("median support mass error", summary.support_mass.0, 0.35),
        ("worst support mass error", summary.support_mass.1, 0.35),
    ] {
        assert!(error <= limit, "{what} {:.1}%", error * 100.0);
    }
}
