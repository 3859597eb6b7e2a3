//! Quotes from the built-in price book, with every amount worked out by hand in the comments.

use pricing_engine::pricing::{PriceBook, PricingError, Priority, QuoteRequest, Usage, quote};

fn request(quantity: u32, priority: Priority, lead_time: Option<&str>) -> QuoteRequest {
    QuoteRequest {
        material: "pla".to_string(),
        quantity,
        priority,
        lead_time: lead_time.map(str::to_string),
    }
}

fn amounts(q: &pricing_engine::pricing::Quote) -> Vec<(&'static str, i64)> {
    q.lines
        .iter()
        .map(|line| (line.kind, line.amount_minor))
        .collect()
}

#[test]
fn one_small_piece_is_lifted_to_the_minimum_price() {
    // PLA at 2500 cents/kg, margin 35%: 10 g -> 25 x 1.35 = 33.75 -> 34; 2 g -> 6.75 -> 7.
    // 1 h at 250 cents/h x 1.35 = 337.5 -> 338. Setup 500. Subtotal 879, under the minimum 900.
    let usage = Usage {
        material_g: 10.0,
        support_g: 2.0,
        machine_time_s: 3600.0,
    };
    let q = quote(
        &usage,
        &request(1, Priority::Regular, None),
        &PriceBook::built_in(),
        b"model",
    )
    .expect("quote");
    assert_eq!(
        amounts(&q),
        [
            ("material", 34),
            ("support_material", 7),
            ("machine_time", 338),
            ("setup", 500),
            ("minimum_price", 21)
        ]
    );
    assert_eq!((q.unit_price_minor, q.total_minor), (900, 900));
    assert_eq!(
        (
            q.currency.as_str(),
            q.lead_time.as_str(),
            q.price_book_version.as_str()
        ),
        ("EUR", "standard", "2026.11-default.1")
    );
}

#[test]
fn surcharges_and_discounts_apply_to_the_subtotal() {
    // 200 g -> 500 x 1.35 = 675; 20 g -> 67.5 -> 68; 5 h -> 1250 x 1.35 = 1687.5 -> 1688;
    // setup 500 / 10 = 50. Subtotal 2481: priority 25% = 620.25 -> 620, express 40% = 992.4 ->
    // 992, 10 pieces -10% = 248.1 -> 248. Unit 3845, total 38450.
    let usage = Usage {
        material_g: 200.0,
        support_g: 20.0,
        machine_time_s: 18_000.0,
    };
    let q = quote(
        &usage,
        &request(10, Priority::High, Some("express")),
        &PriceBook::built_in(),
        b"model",
    )
    .expect("quote");
    assert_eq!(
        amounts(&q),
        [
            ("material", 675),
            ("support_material", 68),
            ("machine_time", 1688),
            ("setup", 50),
            ("priority_surcharge", 620),
            ("lead_time_surcharge", 992),
            ("quantity_discount", -248)
        ]
    );
    assert_eq!((q.unit_price_minor, q.total_minor), (3845, 38450));
}

#[test]
fn the_same_inputs_give_the_same_id_and_amounts() {
    let usage = Usage {
        material_g: 42.0,
        support_g: 3.5,
        machine_time_s: 7777.0,
    };
    let book = PriceBook::built_in();
    let a = quote(
        &usage,
        &request(3, Priority::Regular, None),
        &book,
        b"bytes",
    )
    .expect("quote");
    assert_eq!(
        a,
        quote(
            &usage,
            &request(3, Priority::Regular, None),
            &book,
            b"bytes"
        )
        .expect("quote")
    );
    assert!(a.id.starts_with("q-") && a.id.len() == 18, "{}", a.id);
    for other in [
        quote(
            &usage,
            &request(4, Priority::Regular, None),
            &book,
            b"bytes",
        ),
        quote(&usage, &request(3, Priority::High, None), &book, b"bytes"),
        quote(
            &usage,
            &request(3, Priority::Regular, Some("express")),
            &book,
            b"bytes",
        ),
        quote(
            &usage,
            &request(3, Priority::Regular, None),
            &book,
            b"other bytes",
        ),
    ] {
        assert_ne!(other.expect("quote").id, a.id);
    }
}

#[test]
fn bad_requests_are_refused() {
    let book = PriceBook::built_in();
    let usage = Usage {
        material_g: 1.0,
        support_g: 0.0,
        machine_time_s: 60.0,
    };
    let mut unknown = request(1, Priority::Regular, None);
    unknown.material = "abs".to_string();
    let err = quote(&usage, &unknown, &book, b"").expect_err("unknown material");
    assert_eq!(
        err.to_string(),
        "unknown material `abs` (the price book has: pa12, petg, pla, standard_resin)"
    );
    let err = quote(
        &usage,
        &request(1, Priority::Regular, Some("yesterday")),
        &book,
        b"",
    )
    .expect_err("lead time");
    assert_eq!(
        err.to_string(),
        "unknown lead time `yesterday` (the price book has: standard, express)"
    );
    assert_eq!(
        quote(&usage, &request(0, Priority::Regular, None), &book, b""),
        Err(PricingError::ZeroQuantity)
    );
    let nan = Usage {
        material_g: f64::NAN,
        ..usage
    };
    let err = quote(&nan, &request(1, Priority::Regular, None), &book, b"").expect_err("NaN mass");
    assert_eq!(
        err.to_string(),
        "the estimate's material mass (g) is NaN, which cannot be priced"
    );
}

/// A model's bytes are identified by a digest that is the same on any number of threads and
/// changes with any bit of them, wherever it is (its blocks are hashed in parallel).
#[test]
fn the_model_digest_is_stable_and_sees_every_bit() {
    use pricing_engine::pricing::bulk_digest;
    let bytes: Vec<u8> = (0..200_003u32)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| bulk_digest(&bytes));
    assert_eq!(one, bulk_digest(&bytes));
    let mut seen = std::collections::HashSet::from([one]);
    for at in [0, 7, 8, 65_535, 65_536, 131_071, 200_002] {
        for bit in [0, 7] {
            let mut changed = bytes.clone();
            changed[at] ^= 1 << bit;
            assert!(seen.insert(bulk_digest(&changed)), "byte {at} bit {bit}");
        }
    }
    // A shorter input is another input, even when what is missing is a zero byte.
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(seen.insert(bulk_digest(&padded)));
}
