//! Between the wire (`pricing.v1` messages) and the engine's types.

use pricing_engine::analysis::{Analysis, Warning};
use pricing_engine::mesh::{Limits as LoadLimits, LoadOptions, Unit};
use pricing_engine::pipeline::{
    ModelQuote, Objective, OrientationMode, Placement, Priced, QuoteOptions,
};
use pricing_engine::pricing::{PriceBook, Priority, QuoteRequest};
use pricing_proto::v1;

use crate::config::Limits;
use crate::status::Failure;

pub fn priority_to_wire(priority: Priority) -> v1::Priority {
    match priority {
        Priority::Regular => v1::Priority::Regular,
        Priority::High => v1::Priority::High,
    }
}

/// The class a request asks for; `None` for "the highest my key allows".
pub fn asked_priority(value: i32) -> Result<Option<Priority>, Failure> {
    match v1::Priority::try_from(value) {
        Ok(v1::Priority::Unspecified) => Ok(None),
        Ok(v1::Priority::Regular) => Ok(Some(Priority::Regular)),
        Ok(v1::Priority::High) => Ok(Some(Priority::High)),
        Err(_) => Err(Failure::BadRequest(format!("unknown priority {value}"))),
    }
}

fn enum_value<T: TryFrom<i32>>(name: &str, value: i32) -> Result<T, Failure> {
    T::try_from(value).map_err(|_| Failure::BadRequest(format!("unknown {name} {value}")))
}

/// How to read a model: the request's unit and the server's limits.
pub fn load_options(unit: i32, limits: &Limits) -> Result<LoadOptions, Failure> {
    let unit = match enum_value::<v1::Unit>("unit", unit)? {
        v1::Unit::Unspecified | v1::Unit::Millimetre => Unit::Millimetre,
        v1::Unit::Centimetre => Unit::Centimetre,
        v1::Unit::Metre => Unit::Metre,
        v1::Unit::Inch => Unit::Inch,
    };
    Ok(LoadOptions {
        unit,
        limits: LoadLimits {
            max_input_bytes: limits.max_upload_bytes,
            max_triangles: limits.max_triangles,
        },
    })
}

/// The engine's options for a quote at `priority`.
pub fn quote_options(
    options: &v1::QuoteOptions,
    priority: Priority,
) -> Result<QuoteOptions, Failure> {
    if options.material.trim().is_empty() {
        return Err(Failure::BadRequest(
            "options.material is required (GetPriceBook lists the materials)".to_string(),
        ));
    }
    let objective = match enum_value::<v1::Objective>("objective", options.objective)? {
        v1::Objective::Unspecified | v1::Objective::Price => Objective::Price,
        v1::Objective::Time => Objective::Time,
        v1::Objective::Support => Objective::Support,
    };
    let orientation = match enum_value::<v1::Orientation>("orientation", options.orientation)? {
        v1::Orientation::Unspecified | v1::Orientation::Auto => OrientationMode::Auto(objective),
        v1::Orientation::Keep => OrientationMode::Keep,
    };
    let supports = match enum_value::<v1::Supports>("supports", options.supports)? {
        v1::Supports::Unspecified | v1::Supports::Auto => true,
        v1::Supports::Off => false,
    };
    let alternatives = options.alternatives.unwrap_or(3);
    if alternatives > 32 {
        return Err(Failure::BadRequest(format!(
            "options.alternatives is {alternatives}; at most 32"
        )));
    }
    Ok(QuoteOptions {
        request: QuoteRequest {
            material: options.material.clone(),
            quantity: options.quantity.max(1),
            priority,
            lead_time: (!options.lead_time.is_empty()).then(|| options.lead_time.clone()),
        },
        orientation,
        supports,
        alternatives: alternatives as usize,
    })
}

fn warnings(warnings: &[Warning]) -> Vec<v1::Warning> {
    warnings
        .iter()
        .map(|w| v1::Warning {
            kind: w.kind.to_string(),
            message: w.message.clone(),
        })
        .collect()
}

pub fn analysis(a: &Analysis) -> v1::Analysis {
    v1::Analysis {
        format: a.format.name().to_string(),
        triangles: a.n_triangles_in_file,
        vertices: a.n_vertices,
        volume_mm3: a.volume_mm3,
        area_mm2: a.area_mm2,
        bbox_min: a.bbox_min.to_vec(),
        bbox_max: a.bbox_max.to_vec(),
        shells: a.shells.len() as u64,
        watertight: a.watertight,
        winding_consistent: a.winding_consistent,
        boundary_edges: a.boundary_edges,
        non_manifold_edges: a.non_manifold_edges,
        degenerate_triangles: a.degenerate_triangles,
        warnings: warnings(&a.warnings),
        centroid_mm: a.centroid_mm.to_vec(),
    }
}

fn placement(p: &Placement) -> v1::Placement {
    v1::Placement {
        source: p.source.name().to_string(),
        down: p.down.to_vec(),
        rotation: p.rotation.iter().flatten().copied().collect(),
        size_mm: p.size_mm.to_vec(),
    }
}

fn estimate(priced: &Priced) -> v1::Estimate {
    let e = &priced.estimate;
    v1::Estimate {
        technology: e.technology.name().to_string(),
        layers: e.layers as u64,
        print_time_s: e.machine_time_s,
        material_g: e.material_g,
        support_g: e.support_g,
        support_volume_mm3: e.support_volume_mm3(),
        support_contact_area_mm2: e.supports.map_or(0.0, |s| s.contact_area_mm2),
        filament_mm: e.filament_mm,
    }
}

pub fn quote(q: &ModelQuote, priority: Priority) -> v1::QuoteResponse {
    let chosen = &q.chosen;
    v1::QuoteResponse {
        quote_id: chosen.quote.id.clone(),
        material: chosen.quote.material.clone(),
        quantity: chosen.quote.quantity,
        priority: priority_to_wire(priority).into(),
        lead_time: chosen.quote.lead_time.clone(),
        placement: Some(placement(&chosen.placement)),
        estimate: Some(estimate(chosen)),
        lines: chosen
            .quote
            .lines
            .iter()
            .map(|line| v1::QuoteLine {
                kind: line.kind.to_string(),
                description: line.description.clone(),
                amount_minor: line.amount_minor,
            })
            .collect(),
        unit_price_minor: chosen.quote.unit_price_minor,
        total_minor: chosen.quote.total_minor,
        currency: chosen.quote.currency.clone(),
        price_book_version: chosen.quote.price_book_version.clone(),
        warnings: warnings(&q.warnings),
        alternatives: q
            .alternatives
            .iter()
            .map(|alt| v1::Alternative {
                placement: Some(placement(&alt.placement)),
                estimate: Some(estimate(alt)),
                quote_id: alt.quote.id.clone(),
                unit_price_minor: alt.quote.unit_price_minor,
                total_minor: alt.quote.total_minor,
            })
            .collect(),
        candidates_priced: q.candidates_priced as u32,
        analysis: Some(analysis(&q.analysis)),
    }
}

pub fn price_book(book: &PriceBook, toml: &str) -> v1::PriceBook {
    v1::PriceBook {
        version: book.version.clone(),
        currency: book.currency.clone(),
        minor_units: book.minor_units,
        materials: book
            .materials
            .values()
            .map(|m| v1::Material {
                id: m.id.clone(),
                name: m.name.clone(),
                technology: book.machines[&m.machine]
                    .process
                    .technology()
                    .name()
                    .to_string(),
                machine: m.machine.clone(),
                density_g_cm3: m.density_g_cm3,
                price_per_kg_minor: m.price_per_kg_minor,
                min_wall_mm: m.min_wall_mm,
            })
            .collect(),
        lead_times: book
            .lead_times
            .iter()
            .map(|l| v1::LeadTime {
                id: l.id.clone(),
                days: l.days,
                surcharge_bp: l.surcharge_bp,
            })
            .collect(),
        quantity_bands: book
            .quantity_bands
            .iter()
            .map(|b| v1::QuantityBand {
                min_quantity: b.min_quantity,
                discount_bp: b.discount_bp,
            })
            .collect(),
        setup_fee_minor: book.setup_fee_minor,
        minimum_price_minor: book.minimum_price_minor,
        priority_surcharge_bp: book.priority_surcharge_bp,
        margin_bp: book.margin_bp,
        toml: toml.to_string(),
    }
}
