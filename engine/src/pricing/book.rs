//! `PriceBook`: what a print costs — machines with their processes, materials, fees, bands and
//! tiers — read from TOML and validated, with a default compiled in.
//!
//! The TOML is read into the types below (unknown keys are refused, so a misspelt field is an
//! error, not a silent default), then every value is checked; the first bad one is reported
//! with its full path (`materials.pla.density_g_cm3`) and why. Money is in integer minor units
//! of the book's currency; percentages (up to two decimals) become integer basis points, so
//! that pricing never multiplies money by a float.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Why a price book was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceBookError {
    /// Not valid TOML, or a field missing, unknown or of the wrong type (toml's message says
    /// which, with its line).
    #[error("price book is not valid: {message}")]
    Syntax { message: String },
    #[error("price book field `{field}` {reason}")]
    Field { field: String, reason: String },
}

fn field_error(field: impl Into<String>, reason: impl Into<String>) -> PriceBookError {
    PriceBookError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

/// How an amount is rounded to minor units, once, at the end of each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    HalfUp,
    HalfEven,
}

/// What to do with a mesh that is not watertight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenMeshPolicy {
    /// Price it, with the analysis's warning on the quote.
    Warn,
    /// Refuse to quote it.
    Refuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Technology {
    Fdm,
    Sla,
    Sls,
}

impl Technology {
    pub fn name(self) -> &'static str {
        match self {
            Technology::Fdm => "fdm",
            Technology::Sla => "sla",
            Technology::Sls => "sls",
        }
    }
}

/// A fused-filament process: PrusaSlicer's parameters of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FdmProcess {
    pub layer_height_mm: f64,
    pub first_layer_height_mm: f64,
    pub perimeters: u32,
    pub top_solid_layers: u32,
    pub bottom_solid_layers: u32,
    pub fill_density_percent: f64,
    pub nozzle_diameter_mm: f64,
    pub filament_diameter_mm: f64,
    pub extrusion_width_mm: f64,
    pub first_layer_extrusion_width_mm: f64,
    pub top_infill_extrusion_width_mm: f64,
    pub perimeter_speed_mm_s: f64,
    pub external_perimeter_speed_mm_s: f64,
    pub small_perimeter_speed_mm_s: f64,
    pub infill_speed_mm_s: f64,
    pub solid_infill_speed_mm_s: f64,
    pub top_solid_infill_speed_mm_s: f64,
    pub gap_fill_speed_mm_s: f64,
    pub bridge_speed_mm_s: f64,
    /// The share of the normal flow a bridge extrudes.
    pub bridge_flow_ratio: f64,
    pub first_layer_speed_mm_s: f64,
    pub travel_speed_mm_s: f64,
    pub max_print_speed_mm_s: f64,
    pub min_print_speed_mm_s: f64,
    pub slowdown_below_layer_time_s: f64,
    pub default_acceleration_mm_s2: f64,
    pub perimeter_acceleration_mm_s2: f64,
    pub infill_acceleration_mm_s2: f64,
    pub first_layer_acceleration_mm_s2: f64,
    /// The largest instant change of speed at a corner (PrusaSlicer's `machine_max_jerk_x`).
    pub jerk_mm_s: f64,
    /// Loops of skirt around the first layer, and their distance from it.
    pub skirts: u32,
    pub skirt_distance_mm: f64,
    /// Filament pulled back before a travel and at a layer change, and pushed again.
    pub retract_length_mm: f64,
    pub retract_speed_mm_s: f64,
    /// The move up to the next layer (PrusaSlicer's `travel_speed_z` and
    /// `machine_max_acceleration_z`).
    pub travel_speed_z_mm_s: f64,
    pub z_acceleration_mm_s2: f64,
    /// The print's own start and end moves, which a slicer's estimate counts: the travel from
    /// where the printer homes to the part (centred on the bed), at the travel speed, and the
    /// lift of the end G-code, at the z speed.
    pub start_travel_mm: f64,
    pub end_lift_mm: f64,
    pub support_threshold_deg: f64,
    pub support_speed_mm_s: f64,
    pub support_spacing_mm: f64,
    pub support_interface_layers: u32,
    pub support_contact_distance_mm: f64,
    pub support_extrusion_width_mm: f64,
    /// The gap between the lines of the interface layers under the part.
    pub support_interface_spacing_mm: f64,
    /// The interface's speed as a share of `support_speed_mm_s`.
    pub support_interface_speed_percent: f64,
    /// How far the first layer of supports on the plate reaches beyond them, and how densely
    /// it is filled (PrusaSlicer's `raft_first_layer_expansion` and `raft_first_layer_density`,
    /// which shape that layer with or without a raft).
    pub support_first_layer_expansion_mm: f64,
    pub support_first_layer_density_percent: f64,
    /// How far supports keep from the part's walls beside them (PrusaSlicer's
    /// `support_material_xy_spacing`, there a share of the external perimeter's width).
    pub support_xy_spacing_mm: f64,
}

/// A resin (SLA / DLP) process: every layer is exposed, then the vat tilts to peel it (slowly
/// above an area threshold); the first layers are exposed longer.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaProcess {
    pub layer_height_mm: f64,
    pub exposure_s: f64,
    pub initial_exposure_s: f64,
    pub initial_layers: u32,
    pub tilt_fast_s: f64,
    pub tilt_slow_s: f64,
    pub slow_tilt_above_area_mm2: f64,
    /// The share of the space under overhangs (down to the plate or the part below) that the
    /// support pillars fill.
    pub support_fill_percent: f64,
}

/// A powder-bed process (SLS / MJF): time goes with the height of the build, shared among the
/// parts in the chamber.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlsProcess {
    pub layer_height_mm: f64,
    pub layer_time_s: f64,
    /// The share of the chamber that parts fill in a typical build.
    pub packing_fraction_percent: f64,
    /// Fresh powder mixed in per build, as a share of the parts' volume.
    pub powder_refresh_percent: f64,
    pub warmup_s: f64,
    pub cooldown_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Process {
    Fdm(FdmProcess),
    Sla(SlaProcess),
    Sls(SlsProcess),
}

impl Process {
    pub fn technology(&self) -> Technology {
        match self {
            Process::Fdm(_) => Technology::Fdm,
            Process::Sla(_) => Technology::Sla,
            Process::Sls(_) => Technology::Sls,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub id: String,
    pub build_volume_mm: [f64; 3],
    pub hourly_rate_minor: i64,
    pub process: Process,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    pub id: String,
    pub name: String,
    /// The machine it prints on (a key of `PriceBook::machines`).
    pub machine: String,
    pub density_g_cm3: f64,
    pub price_per_kg_minor: i64,
    pub min_wall_mm: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantityBand {
    pub min_quantity: u32,
    pub discount_bp: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadTime {
    pub id: String,
    pub days: u32,
    pub surcharge_bp: u32,
}

/// A validated price book. Percentages are basis points (1% = 100 bp).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceBook {
    pub version: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimal digits of the minor unit (2 for cents).
    pub minor_units: u32,
    pub rounding: Rounding,
    pub margin_bp: u32,
    pub setup_fee_minor: i64,
    pub minimum_price_minor: i64,
    pub priority_surcharge_bp: u32,
    pub open_mesh: OpenMeshPolicy,
    /// Ascending by `min_quantity`, the first at 1.
    pub quantity_bands: Vec<QuantityBand>,
    /// The first is the default.
    pub lead_times: Vec<LeadTime>,
    pub machines: BTreeMap<String, Machine>,
    pub materials: BTreeMap<String, Material>,
}

// The TOML as written, before validation.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    version: String,
    currency: String,
    minor_units: u32,
    rounding: Rounding,
    margin_percent: f64,
    setup_fee_minor: i64,
    minimum_price_minor: i64,
    priority_surcharge_percent: f64,
    open_mesh: OpenMeshPolicy,
    quantity_bands: Vec<RawBand>,
    lead_times: Vec<RawLeadTime>,
    machines: BTreeMap<String, RawMachine>,
    materials: BTreeMap<String, RawMaterial>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    min_quantity: u32,
    discount_percent: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeadTime {
    id: String,
    days: u32,
    surcharge_percent: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachine {
    technology: Technology,
    build_volume_mm: [f64; 3],
    hourly_rate_minor: i64,
    fdm: Option<FdmProcess>,
    sla: Option<SlaProcess>,
    sls: Option<SlsProcess>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaterial {
    name: String,
    machine: String,
    density_g_cm3: f64,
    price_per_kg_minor: i64,
    min_wall_mm: f64,
}

/// The built-in price book's TOML.
pub const DEFAULT_PRICE_BOOK_TOML: &str = include_str!("default_price_book.toml");

impl PriceBook {
    /// Reads and validates a price book.
    pub fn from_toml(text: &str) -> Result<PriceBook, PriceBookError> {
        let raw: RawBook = toml::from_str(text).map_err(|err| PriceBookError::Syntax {
            message: err.to_string().trim_end().to_string(),
        })?;
        validate(raw)
    }

    /// The built-in price book.
    pub fn built_in() -> PriceBook {
        // Checked by a test; a broken default is a build defect, not an input error.
        PriceBook::from_toml(DEFAULT_PRICE_BOOK_TOML).expect("the built-in price book is valid")
    }

    pub fn material(&self, id: &str) -> Option<&Material> {
        self.materials.get(id)
    }

    /// The discount for ordering `quantity` pieces.
    pub fn quantity_discount_bp(&self, quantity: u32) -> u32 {
        self.quantity_bands
            .iter()
            .take_while(|band| band.min_quantity <= quantity)
            .last()
            .map_or(0, |band| band.discount_bp)
    }
}

fn positive(field: &str, value: f64) -> Result<f64, PriceBookError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(field_error(
            field,
            format!("must be a positive number, got {value}"),
        ))
    }
}

fn non_negative_minor(field: &str, value: i64) -> Result<i64, PriceBookError> {
    if value >= 0 {
        Ok(value)
    } else {
        Err(field_error(
            field,
            format!("must not be negative, got {value}"),
        ))
    }
}

/// A percentage with at most two decimals, between 0 and `max`, as basis points.
fn percent(field: &str, value: f64, max: f64) -> Result<u32, PriceBookError> {
    if !(value.is_finite() && (0.0..=max).contains(&value)) {
        return Err(field_error(
            field,
            format!("must be a percentage from 0 to {max}, got {value}"),
        ));
    }
    let bp = (value * 100.0).round();
    if (bp - value * 100.0).abs() > 1e-6 {
        return Err(field_error(
            field,
            format!("may have at most two decimals, got {value}"),
        ));
    }
    Ok(bp as u32)
}

fn validate(raw: RawBook) -> Result<PriceBook, PriceBookError> {
    if raw.version.trim().is_empty() {
        return Err(field_error(
            "version",
            "must not be empty: it goes on every quote",
        ));
    }
    if raw.currency.len() != 3 || !raw.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(field_error(
            "currency",
            format!(
                "must be an ISO 4217 code such as EUR, got `{}`",
                raw.currency
            ),
        ));
    }
    if raw.minor_units > 4 {
        return Err(field_error(
            "minor_units",
            format!("must be 0 to 4 decimal digits, got {}", raw.minor_units),
        ));
    }
    let mut quantity_bands = Vec::new();
    for (idx, band) in raw.quantity_bands.iter().enumerate() {
        let field = |name: &str| format!("quantity_bands[{idx}].{name}");
        let expected_first = idx == 0 && band.min_quantity != 1;
        let not_ascending =
            idx > 0 && band.min_quantity <= raw.quantity_bands[idx - 1].min_quantity;
        if expected_first {
            return Err(field_error(
                field("min_quantity"),
                format!("of the first band must be 1, got {}", band.min_quantity),
            ));
        }
        if not_ascending {
            return Err(field_error(
                field("min_quantity"),
                format!(
                    "must be above the previous band's, got {}",
                    band.min_quantity
                ),
            ));
        }
        quantity_bands.push(QuantityBand {
            min_quantity: band.min_quantity,
            discount_bp: percent(&field("discount_percent"), band.discount_percent, 99.99)?,
        });
    }
    if quantity_bands.is_empty() {
        return Err(field_error(
            "quantity_bands",
            "must hold at least the band for 1 piece",
        ));
    }
    let mut lead_times: Vec<LeadTime> = Vec::new();
    for (idx, lead) in raw.lead_times.iter().enumerate() {
        let field = |name: &str| format!("lead_times[{idx}].{name}");
        if lead.id.trim().is_empty() || lead_times.iter().any(|other| other.id == lead.id) {
            return Err(field_error(
                field("id"),
                format!("must be a non-empty id used once, got `{}`", lead.id),
            ));
        }
        lead_times.push(LeadTime {
            id: lead.id.clone(),
            days: lead.days,
            surcharge_bp: percent(&field("surcharge_percent"), lead.surcharge_percent, 1000.0)?,
        });
    }
    if lead_times.is_empty() {
        return Err(field_error(
            "lead_times",
            "must hold at least one lead time (the first is the default)",
        ));
    }
    let mut machines = BTreeMap::new();
    for (id, machine) in raw.machines {
        let field = |name: &str| format!("machines.{id}.{name}");
        for (axis, size) in machine.build_volume_mm.iter().enumerate() {
            positive(&format!("machines.{id}.build_volume_mm[{axis}]"), *size)?;
        }
        non_negative_minor(&field("hourly_rate_minor"), machine.hourly_rate_minor)?;
        let process = match (machine.technology, machine.fdm, machine.sla, machine.sls) {
            (Technology::Fdm, Some(fdm), None, None) => {
                Process::Fdm(validate_fdm(&format!("machines.{id}.fdm"), fdm)?)
            }
            (Technology::Sla, None, Some(sla), None) => {
                Process::Sla(validate_sla(&format!("machines.{id}.sla"), sla)?)
            }
            (Technology::Sls, None, None, Some(sls)) => {
                Process::Sls(validate_sls(&format!("machines.{id}.sls"), sls)?)
            }
            (technology, ..) => {
                let section = format!("{technology:?}").to_lowercase();
                return Err(field_error(
                    field("technology"),
                    format!(
                        "is `{section}`, so the machine needs a `[machines.{id}.{section}]` section and no other process section"
                    ),
                ));
            }
        };
        machines.insert(
            id.clone(),
            Machine {
                id,
                build_volume_mm: machine.build_volume_mm,
                hourly_rate_minor: machine.hourly_rate_minor,
                process,
            },
        );
    }
    let mut materials = BTreeMap::new();
    for (id, material) in raw.materials {
        let field = |name: &str| format!("materials.{id}.{name}");
        if !machines.contains_key(&material.machine) {
            let known: Vec<&str> = machines.keys().map(String::as_str).collect();
            return Err(field_error(
                field("machine"),
                format!(
                    "names `{}`, which is not among the machines ({})",
                    material.machine,
                    known.join(", ")
                ),
            ));
        }
        materials.insert(
            id.clone(),
            Material {
                name: material.name,
                machine: material.machine,
                density_g_cm3: positive(&field("density_g_cm3"), material.density_g_cm3)?,
                price_per_kg_minor: non_negative_minor(
                    &field("price_per_kg_minor"),
                    material.price_per_kg_minor,
                )?,
                min_wall_mm: positive(&field("min_wall_mm"), material.min_wall_mm)?,
                id,
            },
        );
    }
    if materials.is_empty() {
        return Err(field_error("materials", "must hold at least one material"));
    }
    Ok(PriceBook {
        version: raw.version,
        currency: raw.currency,
        minor_units: raw.minor_units,
        rounding: raw.rounding,
        margin_bp: percent("margin_percent", raw.margin_percent, 1000.0)?,
        setup_fee_minor: non_negative_minor("setup_fee_minor", raw.setup_fee_minor)?,
        minimum_price_minor: non_negative_minor("minimum_price_minor", raw.minimum_price_minor)?,
        priority_surcharge_bp: percent(
            "priority_surcharge_percent",
            raw.priority_surcharge_percent,
            1000.0,
        )?,
        open_mesh: raw.open_mesh,
        quantity_bands,
        lead_times,
        machines,
        materials,
    })
}

fn validate_fdm(section: &str, p: FdmProcess) -> Result<FdmProcess, PriceBookError> {
    let f = |name: &str| format!("{section}.{name}");
    for (name, value) in [
        ("layer_height_mm", p.layer_height_mm),
        ("first_layer_height_mm", p.first_layer_height_mm),
        ("nozzle_diameter_mm", p.nozzle_diameter_mm),
        ("filament_diameter_mm", p.filament_diameter_mm),
        ("extrusion_width_mm", p.extrusion_width_mm),
        (
            "first_layer_extrusion_width_mm",
            p.first_layer_extrusion_width_mm,
        ),
        (
            "top_infill_extrusion_width_mm",
            p.top_infill_extrusion_width_mm,
        ),
        ("perimeter_speed_mm_s", p.perimeter_speed_mm_s),
        (
            "external_perimeter_speed_mm_s",
            p.external_perimeter_speed_mm_s,
        ),
        ("small_perimeter_speed_mm_s", p.small_perimeter_speed_mm_s),
        ("infill_speed_mm_s", p.infill_speed_mm_s),
        ("solid_infill_speed_mm_s", p.solid_infill_speed_mm_s),
        ("top_solid_infill_speed_mm_s", p.top_solid_infill_speed_mm_s),
        ("gap_fill_speed_mm_s", p.gap_fill_speed_mm_s),
        ("bridge_speed_mm_s", p.bridge_speed_mm_s),
        ("bridge_flow_ratio", p.bridge_flow_ratio),
        ("first_layer_speed_mm_s", p.first_layer_speed_mm_s),
        ("travel_speed_mm_s", p.travel_speed_mm_s),
        ("max_print_speed_mm_s", p.max_print_speed_mm_s),
        ("min_print_speed_mm_s", p.min_print_speed_mm_s),
        ("default_acceleration_mm_s2", p.default_acceleration_mm_s2),
        (
            "perimeter_acceleration_mm_s2",
            p.perimeter_acceleration_mm_s2,
        ),
        ("infill_acceleration_mm_s2", p.infill_acceleration_mm_s2),
        (
            "first_layer_acceleration_mm_s2",
            p.first_layer_acceleration_mm_s2,
        ),
        ("support_speed_mm_s", p.support_speed_mm_s),
        ("support_spacing_mm", p.support_spacing_mm),
        ("support_extrusion_width_mm", p.support_extrusion_width_mm),
    ] {
        positive(&f(name), value)?;
    }
    if !(p.slowdown_below_layer_time_s.is_finite() && p.slowdown_below_layer_time_s >= 0.0) {
        return Err(field_error(
            f("slowdown_below_layer_time_s"),
            format!(
                "must be 0 or more seconds, got {}",
                p.slowdown_below_layer_time_s
            ),
        ));
    }
    for (name, value) in [
        ("skirt_distance_mm", p.skirt_distance_mm),
        ("retract_length_mm", p.retract_length_mm),
        ("start_travel_mm", p.start_travel_mm),
        ("end_lift_mm", p.end_lift_mm),
        (
            "support_interface_spacing_mm",
            p.support_interface_spacing_mm,
        ),
        (
            "support_first_layer_expansion_mm",
            p.support_first_layer_expansion_mm,
        ),
        ("support_xy_spacing_mm", p.support_xy_spacing_mm),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(field_error(
                f(name),
                format!("must be 0 or more millimetres, got {value}"),
            ));
        }
    }
    if !(p.support_contact_distance_mm.is_finite() && p.support_contact_distance_mm >= 0.0) {
        return Err(field_error(
            f("support_contact_distance_mm"),
            format!("must be 0 or more, got {}", p.support_contact_distance_mm),
        ));
    }
    percent(&f("fill_density_percent"), p.fill_density_percent, 100.0)?;
    for (name, value) in [
        (
            "support_interface_speed_percent",
            p.support_interface_speed_percent,
        ),
        (
            "support_first_layer_density_percent",
            p.support_first_layer_density_percent,
        ),
    ] {
        percent(&f(name), value, 100.0)?;
        if value == 0.0 {
            return Err(field_error(f(name), "must be above 0"));
        }
    }
    if !(p.support_threshold_deg.is_finite() && (0.0..=90.0).contains(&p.support_threshold_deg)) {
        return Err(field_error(
            f("support_threshold_deg"),
            format!(
                "must be an angle from 0 to 90 degrees, got {}",
                p.support_threshold_deg
            ),
        ));
    }
    if p.layer_height_mm > p.nozzle_diameter_mm {
        return Err(field_error(
            f("layer_height_mm"),
            format!(
                "{} is more than the nozzle diameter {}",
                p.layer_height_mm, p.nozzle_diameter_mm
            ),
        ));
    }
    if p.min_print_speed_mm_s > p.max_print_speed_mm_s {
        return Err(field_error(
            f("min_print_speed_mm_s"),
            format!(
                "{} is above max_print_speed_mm_s {}",
                p.min_print_speed_mm_s, p.max_print_speed_mm_s
            ),
        ));
    }
    Ok(p)
}

fn validate_sla(section: &str, p: SlaProcess) -> Result<SlaProcess, PriceBookError> {
    let f = |name: &str| format!("{section}.{name}");
    for (name, value) in [
        ("layer_height_mm", p.layer_height_mm),
        ("exposure_s", p.exposure_s),
        ("initial_exposure_s", p.initial_exposure_s),
        ("tilt_fast_s", p.tilt_fast_s),
        ("tilt_slow_s", p.tilt_slow_s),
        ("slow_tilt_above_area_mm2", p.slow_tilt_above_area_mm2),
    ] {
        positive(&f(name), value)?;
    }
    percent(&f("support_fill_percent"), p.support_fill_percent, 100.0)?;
    Ok(p)
}

fn validate_sls(section: &str, p: SlsProcess) -> Result<SlsProcess, PriceBookError> {
    let f = |name: &str| format!("{section}.{name}");
    for (name, value) in [
        ("layer_height_mm", p.layer_height_mm),
        ("layer_time_s", p.layer_time_s),
    ] {
        positive(&f(name), value)?;
    }
    for (name, value) in [("warmup_s", p.warmup_s), ("cooldown_s", p.cooldown_s)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(field_error(
                f(name),
                format!("must be 0 or more seconds, got {value}"),
            ));
        }
    }
    let packing = percent(
        &f("packing_fraction_percent"),
        p.packing_fraction_percent,
        100.0,
    )?;
    if packing == 0 {
        return Err(field_error(
            f("packing_fraction_percent"),
            "must be above 0: the chamber's time is shared by its share",
        ));
    }
    percent(
        &f("powder_refresh_percent"),
        p.powder_refresh_percent,
        100.0,
    )?;
    Ok(p)
}
