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
    let rows = accuracy::rows(&reference, &models).expect("estimates");
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
    // layer's step), else today's figure with a little room, so that no change makes it worse
    // unseen.
    for (what, error, limit, was) in [
        (
            "median time error",
            median(rows.iter().map(|r| r.time_error().abs()).collect()),
            0.10,
            6.4,
        ),
        (
            "median filament error",
            median(rows.iter().map(|r| r.filament_error().abs()).collect()),
            0.05,
            1.4,
        ),
        ("worst time error", summary.time.1, 0.25, 18.4),
        ("worst filament error", summary.filament.1, 0.10, 8.6),
        (
            "median supports-on time error",
            summary.supported_time.0,
            0.10,
            5.0,
        ),
        (
            "worst supports-on time error",
            summary.supported_time.1,
            0.25,
            24.2,
        ),
        (
            "median support mass error",
            summary.support_mass.0,
            0.10,
            8.5,
        ),
        (
            "worst support mass error",
            summary.support_mass.1,
            0.35,
            20.5,
        ),
    ] {
        assert!(
            error <= limit,
            "{what} {:.1}% (was {was:.1}%)",
            error * 100.0
        );
    }
}
