//! `pricing-bench quote`: the full quote of each file, as a readable block or one JSON object
//! per line (the DESIGN.md contract plus layers, filament, warnings and alternatives).

use std::path::Path;

use pricing_engine::mesh::{LoadOptions, MeshError};
use pricing_engine::pipeline::{ModelQuote, OrientationMode, Priced, QuoteOptions, quote_model};
use pricing_engine::pricing::PriceBook;
use serde_json::{Value, json};

pub use crate::analyze::{FileError, error_json};
use crate::materials::money;

/// Reads and quotes one file.
pub fn quote_file(
    path: &Path,
    load: &LoadOptions,
    options: &QuoteOptions,
    book: &PriceBook,
) -> Result<ModelQuote, FileError> {
    let len = std::fs::metadata(path).map_err(FileError::Io)?.len();
    if len > load.limits.max_input_bytes {
        // The engine's own check, made before the file is read.
        return Err(FileError::Mesh(MeshError::InputTooLarge {
            bytes: len,
            limit: load.limits.max_input_bytes,
        }));
    }
    let bytes = std::fs::read(path).map_err(FileError::Io)?;
    quote_model(&bytes, load, options, book).map_err(FileError::Quote)
}

fn orientation_json(priced: &Priced, options: &QuoteOptions) -> Value {
    let (mode, objective) = match options.orientation {
        OrientationMode::Keep => ("keep", None),
        OrientationMode::Auto(objective) => ("auto", Some(objective.name())),
    };
    json!({
        "mode": mode,
        "objective": objective,
        "source": priced.placement.source.name(),
        "down": priced.placement.down,
        "rotation": priced.placement.rotation,
        "size_mm": priced.placement.size_mm,
    })
}

fn alternative_json(priced: &Priced, options: &QuoteOptions) -> Value {
    json!({
        "orientation": orientation_json(priced, options),
        "support_volume_mm3": priced.estimate.support_volume_mm3(),
        "print_time_s": priced.estimate.machine_time_s,
        "material_g": priced.estimate.material_g,
        "support_g": priced.estimate.support_g,
        "unit_price_minor": priced.quote.unit_price_minor,
        "total_minor": priced.quote.total_minor,
    })
}

/// The JSON object for one quoted file.
pub fn quote_json(file: &str, q: &ModelQuote, options: &QuoteOptions) -> Value {
    let chosen = &q.chosen;
    let estimate = &chosen.estimate;
    json!({
        "file": file,
        "quote_id": chosen.quote.id,
        "technology": estimate.technology.name(),
        "material": chosen.quote.material,
        "quantity": chosen.quote.quantity,
        "priority": options.request.priority.name(),
        "lead_time": chosen.quote.lead_time,
        "orientation": orientation_json(chosen, options),
        "supports": options.supports,
        "support_volume_mm3": estimate.support_volume_mm3(),
        "support_contact_area_mm2": estimate.supports.map_or(0.0, |s| s.contact_area_mm2),
        "print_time_s": estimate.machine_time_s,
        "material_g": estimate.material_g,
        "support_g": estimate.support_g,
        "layers": estimate.layers,
        "filament_mm": estimate.filament_mm,
        "volume_mm3": q.analysis.volume_mm3,
        "lines": chosen.quote.lines.iter().map(|line| json!({
            "kind": line.kind, "description": line.description, "amount_minor": line.amount_minor,
        })).collect::<Vec<_>>(),
        "unit_price_minor": chosen.quote.unit_price_minor,
        "total_minor": chosen.quote.total_minor,
        "currency": chosen.quote.currency,
        "price_book_version": chosen.quote.price_book_version,
        "warnings": q.warnings.iter().map(|w| json!({"kind": w.kind, "message": w.message})).collect::<Vec<_>>(),
        "candidates_priced": q.candidates_priced,
        "alternatives": q.alternatives.iter().map(|a| alternative_json(a, options)).collect::<Vec<_>>(),
    })
}

fn hours(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as u64;
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// The readable block for one quoted file.
pub fn quote_text(file: &str, q: &ModelQuote, book: &PriceBook) -> String {
    let chosen = &q.chosen;
    let e = &chosen.estimate;
    let p = &chosen.placement;
    let mut out = format!(
        "{file}\n  quote         {} ({} x {}, price book {})\n  process       {} on {}, standing on {} (down = [{:.3}, {:.3}, {:.3}]), {:.1} x {:.1} x {:.1} mm\n  estimate      {} layers, {} per piece, {:.2} g material + {:.2} g support{}\n",
        chosen.quote.id,
        chosen.quote.quantity,
        chosen.quote.material,
        chosen.quote.price_book_version,
        e.technology.name(),
        book.materials[&chosen.quote.material].machine,
        p.source.name(),
        p.down[0],
        p.down[1],
        p.down[2],
        p.size_mm[0],
        p.size_mm[1],
        p.size_mm[2],
        e.layers,
        hours(e.machine_time_s),
        e.material_g,
        e.support_g,
        e.filament_mm
            .map(|mm| format!(", {:.2} m filament", mm / 1000.0))
            .unwrap_or_default(),
    );
    for line in &chosen.quote.lines {
        out.push_str(&format!(
            "  {:<20} {:>14}  {}\n",
            line.kind,
            money(book, line.amount_minor),
            line.description
        ));
    }
    out.push_str(&format!(
        "  {:<20} {:>14}\n  {:<20} {:>14}\n",
        "unit price",
        money(book, chosen.quote.unit_price_minor),
        "total",
        money(book, chosen.quote.total_minor)
    ));
    for (rank, alternative) in q.alternatives.iter().enumerate() {
        out.push_str(&format!(
            "  alternative {}  {} per piece, {}, {:.2} g support, standing on {} (down = [{:.3}, {:.3}, {:.3}])\n",
            rank + 1,
            money(book, alternative.quote.unit_price_minor),
            hours(alternative.estimate.machine_time_s),
            alternative.estimate.support_g,
            alternative.placement.source.name(),
            alternative.placement.down[0],
            alternative.placement.down[1],
            alternative.placement.down[2],
        ));
    }
    for warning in &q.warnings {
        out.push_str(&format!("  warning       {}\n", warning.message));
    }
    out
}
