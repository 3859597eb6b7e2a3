//! The whole flow, bytes to quote: orientation search and objectives, supports on and off,
//! SLA and SLS estimates by their formulas, the build-volume check, the open-mesh policy,
//! thin walls, and quote ids.

use pricing_engine::mesh::LoadOptions;
use pricing_engine::orientation::Source;
use pricing_engine::pipeline::{Objective, OrientationMode, QuoteError, QuoteOptions, quote_model};
use pricing_engine::pricing::{PriceBook, Priority, QuoteRequest};

use super::{cuboid, fixture, relative, stl_bytes};

fn options(material: &str, orientation: OrientationMode) -> QuoteOptions {
    QuoteOptions {
        request: QuoteRequest {
            material: material.to_string(),
            quantity: 1,
            priority: Priority::Regular,
            lead_time: None,
        },
        orientation,
        supports: true,
        alternatives: 3,
    }
}

fn auto(objective: Objective) -> OrientationMode {
    OrientationMode::Auto(objective)
}

/// A mushroom: a 4 x 4 x 10 mm stem under a 20 x 20 x 4 mm cap. As the file stands it, the cap
/// overhangs all round; upside down it needs no support at all.
fn mushroom() -> Vec<u8> {
    let mut triangles = cuboid([8.0, 8.0, 0.0], [4.0, 4.0, 10.0]);
    triangles.extend(cuboid([0.0, 0.0, 10.0], [20.0, 20.0, 4.0]));
    stl_bytes(&triangles)
}

fn quote(bytes: &[u8], options: &QuoteOptions) -> Result<pricing_engine::ModelQuote, QuoteError> {
    quote_model(
        bytes,
        &LoadOptions::default(),
        options,
        &PriceBook::built_in(),
    )
}

#[test]
fn keep_prices_the_file_orientation_and_auto_finds_one_without_support() {
    let bytes = mushroom();
    let kept = quote(&bytes, &options("pla", OrientationMode::Keep)).expect("quote");
    assert_eq!(kept.chosen.placement.source, Source::File);
    assert_eq!(kept.candidates_priced, 1);
    assert!(kept.alternatives.is_empty());
    let supports = kept.chosen.estimate.supports.expect("supports asked for");
    // The cap's underside (one face over the stem too: two shells touching) is the contact;
    // the columns stand 10 mm tall outside the stem and on the stem inside it.
    assert!(relative(supports.contact_area_mm2, 400.0) < 1e-6);
    assert!(
        relative(supports.volume_mm3, 384.0 * 10.0) < 0.02,
        "{supports:?}"
    );
    assert!(kept.chosen.estimate.support_g > 0.0);

    for objective in [Objective::Support, Objective::Price] {
        let best = quote(&bytes, &options("pla", auto(objective))).expect("quote");
        assert_eq!(
            best.chosen.estimate.support_volume_mm3(),
            0.0,
            "{objective:?}"
        );
        assert_eq!(best.chosen.placement.down, [0.0, 0.0, 1.0], "{objective:?}");
        assert!(best.chosen.quote.unit_price_minor <= kept.chosen.quote.unit_price_minor);
        assert_eq!(best.alternatives.len(), 3);
    }
}

#[test]
fn the_objective_orders_the_alternatives() {
    let bytes = mushroom();
    for objective in [Objective::Price, Objective::Time, Objective::Support] {
        let q = quote(&bytes, &options("pla", auto(objective))).expect("quote");
        let all: Vec<_> = std::iter::once(&q.chosen).chain(&q.alternatives).collect();
        for pair in all.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let ordered = match objective {
                Objective::Price => a.quote.unit_price_minor <= b.quote.unit_price_minor,
                Objective::Time => a.estimate.machine_time_s <= b.estimate.machine_time_s,
                Objective::Support => {
                    a.estimate.support_volume_mm3() <= b.estimate.support_volume_mm3()
                }
            };
            assert!(ordered, "{objective:?}");
        }
    }
}

#[test]
fn supports_off_means_no_support_material_or_time() {
    let bytes = mushroom();
    let mut off = options("pla", OrientationMode::Keep);
    off.supports = false;
    let without = quote(&bytes, &off).expect("quote");
    let with = quote(&bytes, &options("pla", OrientationMode::Keep)).expect("quote");
    assert_eq!(without.chosen.estimate.support_g, 0.0);
    assert!(without.chosen.estimate.supports.is_none());
    assert!(with.chosen.estimate.machine_time_s > without.chosen.estimate.machine_time_s);
    let support_line = |q: &pricing_engine::ModelQuote| {
        q.chosen
            .quote
            .lines
            .iter()
            .find(|line| line.kind == "support_material")
            .expect("a support line")
            .amount_minor
    };
    assert_eq!(support_line(&without), 0);
    assert!(support_line(&with) > 0);
}

#[test]
fn the_same_request_gives_the_same_quote_and_other_options_another_id() {
    let bytes = mushroom();
    let a = quote(&bytes, &options("pla", auto(Objective::Price))).expect("quote");
    let b = quote(&bytes, &options("pla", auto(Objective::Price))).expect("quote");
    assert_eq!(a, b);
    let kept = quote(&bytes, &options("pla", OrientationMode::Keep)).expect("quote");
    let mut off = options("pla", auto(Objective::Price));
    off.supports = false;
    let unsupported = quote(&bytes, &off).expect("quote");
    let ids = [
        &a.chosen.quote.id,
        &kept.chosen.quote.id,
        &unsupported.chosen.quote.id,
    ];
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    assert_ne!(ids[1], ids[2]);
    // Each alternative is its own quote.
    assert!(
        a.alternatives
            .iter()
            .all(|alt| alt.quote.id != a.chosen.quote.id)
    );
}

#[test]
fn sla_time_is_exposure_and_tilt_per_layer() {
    // 10 mm at 0.05 mm: 200 layers of 100 mm² (under the slow-tilt area): 5 initial layers at
    // 35 s, 195 at 8 s, and a fast 5 s tilt after each.
    let bytes = stl_bytes(&cuboid([0.0; 3], [10.0, 10.0, 10.0]));
    let q = quote(&bytes, &options("standard_resin", OrientationMode::Keep)).expect("quote");
    let e = &q.chosen.estimate;
    assert_eq!(e.layers, 200);
    assert!((e.machine_time_s - (5.0 * 35.0 + 195.0 * 8.0 + 200.0 * 5.0)).abs() < 1e-6);
    assert!(relative(e.material_g, 1.0 * 1.18) < 1e-9);
    assert_eq!(
        e.support_g, 0.0,
        "a box standing on its face needs no support"
    );
    // A 70 x 70 mm section is above 3500 mm²: every layer is peeled slowly.
    let wide = stl_bytes(&cuboid([0.0; 3], [70.0, 70.0, 1.0]));
    let q = quote(&wide, &options("standard_resin", OrientationMode::Keep)).expect("quote");
    let e = &q.chosen.estimate;
    assert_eq!(e.layers, 20);
    assert!((e.machine_time_s - (5.0 * 35.0 + 15.0 * 8.0 + 20.0 * 11.0)).abs() < 1e-6);
}

#[test]
fn sls_time_is_the_share_of_a_packed_build() {
    // mjf: 380 x 284 x 380 mm chamber, 0.08 mm layers of 9 s, 1 h warm-up, 5 h cool-down, boxes
    // packed to 10% of the chamber; 20% powder refresh.
    let bytes = stl_bytes(&cuboid([0.0; 3], [20.0, 10.0, 5.0]));
    let q = quote(&bytes, &options("pa12", OrientationMode::Keep)).expect("quote");
    let e = &q.chosen.estimate;
    let build = 3600.0 + (380.0f64 / 0.08).ceil() * 9.0 + 18000.0;
    let share = 1000.0 / (380.0 * 284.0 * 380.0 * 0.10);
    assert!(relative(e.machine_time_s, build * share) < 1e-9);
    assert!(relative(e.material_g, 1.0 * 1.01 * 1.2) < 1e-9);
    assert_eq!(e.layers, 63);
    assert!(e.supports.is_none());
}

#[test]
fn a_part_that_fits_only_lying_down_is_laid_down_or_refused_as_kept() {
    // 230 mm tall: above the mk3s's 210 mm, but it fits lying along x (250 mm).
    let bytes = stl_bytes(&cuboid([0.0; 3], [10.0, 10.0, 230.0]));
    let laid = quote(&bytes, &options("pla", auto(Objective::Price))).expect("fits lying");
    assert!(laid.chosen.placement.size_mm[2] <= 210.0);
    let err = quote(&bytes, &options("pla", OrientationMode::Keep)).expect_err("too tall");
    assert_eq!(err.kind(), "too_large");
    assert!(err.to_string().contains("mk3s"), "{err}");
    let huge = stl_bytes(&cuboid([0.0; 3], [300.0, 300.0, 300.0]));
    let err = quote(&huge, &options("pla", auto(Objective::Price))).expect_err("too large");
    assert_eq!(err.kind(), "too_large");
    assert!(err.to_string().contains("300.0 x 300.0 x 300.0"), "{err}");
}

#[test]
fn an_open_mesh_is_priced_with_a_warning_or_refused_as_the_book_says() {
    let bytes = fixture("open_box.stl");
    let warned = quote(&bytes, &options("pla", OrientationMode::Keep)).expect("warn policy");
    assert!(warned.warnings.iter().any(|w| w.kind == "open_mesh"));
    let strict = PriceBook::from_toml(
        &pricing_engine::pricing::DEFAULT_PRICE_BOOK_TOML
            .replace("open_mesh = \"warn\"", "open_mesh = \"refuse\""),
    )
    .expect("book");
    let err = quote_model(
        &bytes,
        &LoadOptions::default(),
        &options("pla", OrientationMode::Keep),
        &strict,
    )
    .expect_err("refused");
    assert_eq!(err.kind(), "open_mesh");
    assert!(err.to_string().contains("boundary"), "{err}");
}

#[test]
fn thin_walls_are_reported_with_where_they_are() {
    // A 0.5 mm plate: thinner than PLA's 0.8 mm minimum.
    let bytes = stl_bytes(&cuboid([0.0; 3], [20.0, 20.0, 0.5]));
    let q = quote(&bytes, &options("pla", OrientationMode::Keep)).expect("quote");
    let warning = q
        .warnings
        .iter()
        .find(|w| w.kind == "thin_walls")
        .expect("thin walls");
    assert!(warning.message.contains("0.50 mm"), "{}", warning.message);
    let thick = stl_bytes(&cuboid([0.0; 3], [20.0, 20.0, 5.0]));
    let q = quote(&thick, &options("pla", OrientationMode::Keep)).expect("quote");
    assert!(q.warnings.iter().all(|w| w.kind != "thin_walls"));
}

#[test]
fn the_request_is_checked_before_the_model() {
    let err = quote(
        b"not a model",
        &options("unobtainium", OrientationMode::Keep),
    )
    .expect_err("unknown material");
    assert_eq!(err.kind(), "unknown_material");
    assert!(err.to_string().contains("pla"), "{err}");
    let mut zero = options("pla", OrientationMode::Keep);
    zero.request.quantity = 0;
    assert_eq!(
        quote(&mushroom(), &zero).expect_err("zero").kind(),
        "zero_quantity"
    );
    let err = quote(b"not a model", &options("pla", OrientationMode::Keep)).expect_err("garbage");
    assert!(matches!(err, QuoteError::Mesh(_)), "{err:?}");
}

#[test]
fn an_inside_out_part_is_estimated_right_side_out() {
    let straight = quote(
        &fixture("cube_10mm.stl"),
        &options("pla", OrientationMode::Keep),
    )
    .expect("quote");
    let inverted = quote(
        &fixture("inside_out_cube.stl"),
        &options("pla", OrientationMode::Keep),
    )
    .expect("quote");
    assert_eq!(inverted.chosen.estimate.support_g, 0.0);
    assert!(
        relative(
            inverted.chosen.estimate.machine_time_s,
            straight.chosen.estimate.machine_time_s
        ) < 1e-9
    );
}

#[test]
fn an_observer_sees_every_stage_and_can_stop_between_them() {
    use pricing_engine::pipeline::{Observer, Stage, quote_model_observed};
    use std::sync::Mutex;

    struct Watch {
        seen: Mutex<Vec<Stage>>,
        stop_after: Option<Stage>,
    }
    impl Observer for Watch {
        fn stage_done(&self, stage: Stage, _elapsed: std::time::Duration) {
            self.seen.lock().expect("lock").push(stage);
        }
        fn should_stop(&self) -> bool {
            let seen = self.seen.lock().expect("lock");
            self.stop_after.is_some_and(|s| seen.last() == Some(&s))
        }
    }
    let book = PriceBook::built_in();
    let bytes = mushroom();
    let all = Watch {
        seen: Mutex::new(Vec::new()),
        stop_after: None,
    };
    quote_model_observed(
        &bytes,
        &LoadOptions::default(),
        &options("pla", auto(Objective::Price)),
        &book,
        &all,
    )
    .expect("quote");
    assert_eq!(*all.seen.lock().expect("lock"), Stage::ALL);
    let stopping = Watch {
        seen: Mutex::new(Vec::new()),
        stop_after: Some(Stage::Analyze),
    };
    let err = quote_model_observed(
        &bytes,
        &LoadOptions::default(),
        &options("pla", auto(Objective::Price)),
        &book,
        &stopping,
    )
    .expect_err("stopped");
    assert!(
        matches!(
            err,
            QuoteError::Stopped {
                after: Stage::Analyze
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "stopped");
    assert_eq!(
        *stopping.seen.lock().expect("lock"),
        [Stage::Parse, Stage::Analyze]
    );
}
