//! A regression guard on the FDM estimate against PrusaSlicer, over the reference models.
//!
//! These bounds are today's accuracy, not issue #3's targets (time: median 10%, worst 25%;
//! filament 10%; support mass 35%), which the estimate does not meet yet: they stop it from getting worse while
//! it is improved. Tighten them as it improves; never loosen them.

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
    let time = median(rows.iter().map(|r| r.time_error().abs()).collect());
    let filament = median(rows.iter().map(|r| r.filament_error().abs()).collect());
    assert!(
        time <= 0.10,
        "median time error {:.1}% (was 8.8%)",
        time * 100.0
    );
    assert!(
        filament <= 0.05,
        "median filament error {:.1}% (was 1.5%)",
        filament * 100.0
    );
    let summary = accuracy::summary(&rows);
    // Issue #3's worst-case time target, met since the print's start and end moves and the
    // perimeter cap of thin sections are modelled.
    assert!(
        summary.time.1 <= 0.25,
        "worst time error {:.1}% (was 23.2%)",
        summary.time.1 * 100.0
    );
    assert!(
        summary.filament.1 <= 0.12,
        "worst filament error {:.1}% (was 11.5%)",
        summary.filament.1 * 100.0
    );
    // Issue #3's supports-on targets, met since supports grow to whole pattern cells trimmed
    // by the part, are joined along their outlines and stand on an expanded first layer.
    assert!(
        summary.supported_time.0 <= 0.10,
        "median supports-on time error {:.1}% (was 9.8%)",
        summary.supported_time.0 * 100.0
    );
    assert!(
        summary.supported_time.1 <= 0.25,
        "worst supports-on time error {:.1}% (was 23.2%)",
        summary.supported_time.1 * 100.0
    );
    assert!(
        summary.support_mass.0 <= 0.25,
        "median support mass error {:.1}% (was 22.0%)",
        summary.support_mass.0 * 100.0
    );
}
