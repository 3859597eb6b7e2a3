//! The price book: the built-in one is valid and carries the reference FDM profile, and every
//! kind of bad file is refused naming the field and why.

use pricing_engine::pricing::{
    DEFAULT_PRICE_BOOK_TOML, PriceBook, PriceBookError, Process, Technology,
};

use super::repo_root;

#[test]
fn the_built_in_book_is_valid() {
    let book = PriceBook::built_in();
    assert_eq!(book.currency, "EUR");
    let pla = book.material("pla").expect("pla");
    assert_eq!(
        book.machines[&pla.machine].process.technology(),
        Technology::Fdm
    );
    assert_eq!((book.margin_bp, book.priority_surcharge_bp), (3500, 2500));
    for (quantity, discount) in [
        (1, 0),
        (9, 0),
        (10, 1000),
        (99, 1000),
        (100, 2000),
        (5000, 2000),
    ] {
        assert_eq!(
            book.quantity_discount_bp(quantity),
            discount,
            "{quantity} pieces"
        );
    }
}

/// The built-in FDM process must be PrusaSlicer's reference profile, so that estimates can be
/// compared with PrusaSlicer's own.
#[test]
fn the_built_in_fdm_process_is_the_reference_profile() {
    let path = repo_root().join("../shared/tools/slicer/prusa_pla_0.2.ini");
    let Ok(ini) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "CI=true but {} is missing",
            path.display()
        );
        eprintln!("SKIPPED: {} does not exist", path.display());
        return;
    };
    let value = |key: &str| -> f64 {
        let line = ini
            .lines()
            .find(|l| l.split('=').next().is_some_and(|k| k.trim() == key))
            .unwrap_or_else(|| panic!("{key} not in the profile"));
        line.split('=')
            .nth(1)
            .expect("a value")
            .trim()
            .trim_end_matches('%')
            .parse()
            .unwrap_or_else(|err| panic!("{key}: {err}"))
    };
    let Process::Fdm(fdm) = PriceBook::built_in().machines["mk3s"].process else {
        panic!("mk3s is FDM")
    };
    let pairs = [
        ("layer_height", fdm.layer_height_mm),
        ("first_layer_height", fdm.first_layer_height_mm),
        ("perimeters", f64::from(fdm.perimeters)),
        ("top_solid_layers", f64::from(fdm.top_solid_layers)),
        ("bottom_solid_layers", f64::from(fdm.bottom_solid_layers)),
        ("fill_density", fdm.fill_density_percent),
        ("nozzle_diameter", fdm.nozzle_diameter_mm),
        ("filament_diameter", fdm.filament_diameter_mm),
        ("extrusion_width", fdm.extrusion_width_mm),
        (
            "first_layer_extrusion_width",
            fdm.first_layer_extrusion_width_mm,
        ),
        (
            "top_infill_extrusion_width",
            fdm.top_infill_extrusion_width_mm,
        ),
        ("perimeter_speed", fdm.perimeter_speed_mm_s),
        (
            "external_perimeter_speed",
            fdm.external_perimeter_speed_mm_s,
        ),
        ("small_perimeter_speed", fdm.small_perimeter_speed_mm_s),
        ("infill_speed", fdm.infill_speed_mm_s),
        ("solid_infill_speed", fdm.solid_infill_speed_mm_s),
        ("top_solid_infill_speed", fdm.top_solid_infill_speed_mm_s),
        ("gap_fill_speed", fdm.gap_fill_speed_mm_s),
        ("bridge_speed", fdm.bridge_speed_mm_s),
        ("bridge_flow_ratio", fdm.bridge_flow_ratio),
        ("first_layer_speed", fdm.first_layer_speed_mm_s),
        ("travel_speed", fdm.travel_speed_mm_s),
        ("max_print_speed", fdm.max_print_speed_mm_s),
        ("min_print_speed", fdm.min_print_speed_mm_s),
        ("slowdown_below_layer_time", fdm.slowdown_below_layer_time_s),
        ("default_acceleration", fdm.default_acceleration_mm_s2),
        ("perimeter_acceleration", fdm.perimeter_acceleration_mm_s2),
        ("infill_acceleration", fdm.infill_acceleration_mm_s2),
        (
            "first_layer_acceleration",
            fdm.first_layer_acceleration_mm_s2,
        ),
        ("support_material_threshold", fdm.support_threshold_deg),
        ("support_material_speed", fdm.support_speed_mm_s),
        ("support_material_spacing", fdm.support_spacing_mm),
        (
            "support_material_interface_layers",
            f64::from(fdm.support_interface_layers),
        ),
        (
            "support_material_contact_distance",
            fdm.support_contact_distance_mm,
        ),
        (
            "support_material_extrusion_width",
            fdm.support_extrusion_width_mm,
        ),
        (
            "support_material_interface_spacing",
            fdm.support_interface_spacing_mm,
        ),
        (
            "support_material_interface_speed",
            fdm.support_interface_speed_percent,
        ),
        (
            "raft_first_layer_expansion",
            fdm.support_first_layer_expansion_mm,
        ),
        (
            "raft_first_layer_density",
            fdm.support_first_layer_density_percent,
        ),
        (
            "filament_density",
            PriceBook::built_in().materials["pla"].density_g_cm3,
        ),
    ];
    for (key, ours) in pairs {
        assert_eq!(ours, value(key), "{key}");
    }
    // The supports' gap from the walls is a share of the external perimeter's width there.
    let xy_gap =
        value("support_material_xy_spacing") / 100.0 * value("external_perimeter_extrusion_width");
    assert!(
        (fdm.support_xy_spacing_mm - xy_gap).abs() < 1e-9,
        "support_xy_spacing_mm {} vs the profile's {xy_gap}",
        fdm.support_xy_spacing_mm
    );
    // The start and end moves: from home (0, 0) to the centre of the bed, and the end G-code's
    // lift above the last layer.
    let setting = |key: &str| {
        ini.lines()
            .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} not in the profile"))
            .trim()
            .to_string()
    };
    let corners: Vec<[f64; 2]> = setting("bed_shape")
        .split(',')
        .map(|corner| {
            let (x, y) = corner.split_once('x').expect("XxY");
            [x.parse().expect("x"), y.parse().expect("y")]
        })
        .collect();
    let centre = [0, 1].map(|i| corners.iter().map(|c| c[i]).sum::<f64>() / corners.len() as f64);
    assert!(
        (fdm.start_travel_mm - centre[0].hypot(centre[1])).abs() < 1.0,
        "start travel {} vs the bed's centre {centre:?}",
        fdm.start_travel_mm
    );
    assert!(
        setting("end_gcode").contains(&format!("max_layer_z+{}", fdm.end_lift_mm)),
        "end lift {}",
        fdm.end_lift_mm
    );
}

fn refused(edit: impl Fn(&str) -> String) -> PriceBookError {
    let text = edit(DEFAULT_PRICE_BOOK_TOML);
    assert_ne!(text, DEFAULT_PRICE_BOOK_TOML, "the edit changed nothing");
    PriceBook::from_toml(&text).expect_err("must be refused")
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(&str) -> String {
    move |text| text.replacen(from, to, 1)
}

#[test]
fn every_bad_field_is_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "version = \"2026.11-default.1\"",
            "version = \" \"",
            "price book field `version` must not be empty: it goes on every quote",
        ),
        (
            "currency = \"EUR\"",
            "currency = \"euro\"",
            "price book field `currency` must be an ISO 4217 code such as EUR, got `euro`",
        ),
        (
            "minor_units = 2",
            "minor_units = 7",
            "price book field `minor_units` must be 0 to 4 decimal digits, got 7",
        ),
        (
            "margin_percent = 35",
            "margin_percent = -5",
            "price book field `margin_percent` must be a percentage from 0 to 1000, got -5",
        ),
        (
            "margin_percent = 35",
            "margin_percent = 12.345",
            "price book field `margin_percent` may have at most two decimals, got 12.345",
        ),
        (
            "setup_fee_minor = 500",
            "setup_fee_minor = -1",
            "price book field `setup_fee_minor` must not be negative, got -1",
        ),
        (
            "min_quantity = 1\n",
            "min_quantity = 2\n",
            "price book field `quantity_bands[0].min_quantity` of the first band must be 1, got 2",
        ),
        (
            "min_quantity = 100",
            "min_quantity = 5",
            "price book field `quantity_bands[2].min_quantity` must be above the previous band's, got 5",
        ),
        (
            "discount_percent = 20",
            "discount_percent = 100",
            "price book field `quantity_bands[2].discount_percent` must be a percentage from 0 to 99.99, got 100",
        ),
        (
            "id = \"express\"",
            "id = \"standard\"",
            "price book field `lead_times[1].id` must be a non-empty id used once, got `standard`",
        ),
        (
            "build_volume_mm = [250.0, 210.0, 210.0]",
            "build_volume_mm = [250.0, 0.0, 210.0]",
            "price book field `machines.mk3s.build_volume_mm[1]` must be a positive number, got 0",
        ),
        (
            "layer_height_mm = 0.2\n",
            "layer_height_mm = 0.0\n",
            "price book field `machines.mk3s.fdm.layer_height_mm` must be a positive number, got 0",
        ),
        (
            "layer_height_mm = 0.2\n",
            "layer_height_mm = 0.6\n",
            "price book field `machines.mk3s.fdm.layer_height_mm` 0.6 is more than the nozzle diameter 0.4",
        ),
        (
            "fill_density_percent = 20",
            "fill_density_percent = 120",
            "price book field `machines.mk3s.fdm.fill_density_percent` must be a percentage from 0 to 100, got 120",
        ),
        (
            "support_threshold_deg = 45",
            "support_threshold_deg = 95",
            "price book field `machines.mk3s.fdm.support_threshold_deg` must be an angle from 0 to 90 degrees, got 95",
        ),
        (
            "end_lift_mm = 10",
            "end_lift_mm = -10",
            "price book field `machines.mk3s.fdm.end_lift_mm` must be 0 or more millimetres, got -10",
        ),
        (
            "support_first_layer_expansion_mm = 3",
            "support_first_layer_expansion_mm = -3",
            "price book field `machines.mk3s.fdm.support_first_layer_expansion_mm` must be 0 or more millimetres, got -3",
        ),
        (
            "support_xy_spacing_mm = 0.27",
            "support_xy_spacing_mm = -0.27",
            "price book field `machines.mk3s.fdm.support_xy_spacing_mm` must be 0 or more millimetres, got -0.27",
        ),
        (
            "support_first_layer_density_percent = 90",
            "support_first_layer_density_percent = 0",
            "price book field `machines.mk3s.fdm.support_first_layer_density_percent` must be above 0",
        ),
        (
            "technology = \"fdm\"",
            "technology = \"sla\"",
            "price book field `machines.mk3s.technology` is `sla`, so the machine needs a `[machines.mk3s.sla]` section and no other process section",
        ),
        (
            "tilt_slow_s = 11.0",
            "tilt_slow_s = -11.0",
            "price book field `machines.form3.sla.tilt_slow_s` must be a positive number, got -11",
        ),
        (
            "packing_fraction_percent = 10",
            "packing_fraction_percent = 0",
            "price book field `machines.mjf.sls.packing_fraction_percent` must be above 0: the chamber's time is shared by its share",
        ),
        (
            "density_g_cm3 = 1.24",
            "density_g_cm3 = -1.24",
            "price book field `materials.pla.density_g_cm3` must be a positive number, got -1.24",
        ),
        (
            "machine = \"mk3s\"",
            "machine = \"mk4\"",
            "price book field `materials.pla.machine` names `mk4`, which is not among the machines (form3, mjf, mk3s)",
        ),
    ];
    for (from, to, message) in cases {
        let err = refused(|text: &str| text.replacen(from, to, 1));
        assert_eq!(err.to_string(), *message, "editing `{from}` to `{to}`");
        assert!(matches!(err, PriceBookError::Field { .. }));
    }
}

#[test]
fn syntax_errors_say_what_and_where() {
    for (edit, expected) in [
        (
            replace("currency = \"EUR\"\n", ""),
            "missing field `currency`",
        ),
        (
            replace("margin_percent = 35", "margin_percnt = 35"),
            "unknown field `margin_percnt`",
        ),
        (
            replace("rounding = \"half-up\"", "rounding = \"up\""),
            "unknown variant `up`",
        ),
        (
            replace("min_wall_mm = 0.8", "min_wall_mm = \"thin\""),
            "invalid type",
        ),
        (replace("[machines.mk3s.fdm]", "[machines.mk3s.fdm"), "line"),
    ] {
        let err = refused(edit);
        let message = err.to_string();
        assert!(matches!(err, PriceBookError::Syntax { .. }), "{message}");
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("line"), "says where: {message}");
    }
}
