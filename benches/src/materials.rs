//! `pricing-bench materials`: the price book's materials, as a table or JSON lines.

use pricing_engine::pricing::PriceBook;
use serde_json::json;

/// Formats an amount in minor units with the book's decimals (`2500` cents -> `25.00`).
pub fn money(book: &PriceBook, minor: i64) -> String {
    let scale = 10i64.pow(book.minor_units);
    if book.minor_units == 0 {
        return format!("{minor} {}", book.currency);
    }
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$} {}",
        minor.abs() / scale,
        minor.abs() % scale,
        book.currency,
        width = book.minor_units as usize
    )
}

pub fn listing(book: &PriceBook, json_lines: bool) -> String {
    let mut out = String::new();
    if !json_lines {
        out.push_str(&format!(
            "price book {} ({})\n",
            book.version, book.currency
        ));
        out.push_str(&format!(
            "{:<16} {:<16} {:<8} {:<10} {:>8} {:>14} {:>9}\n",
            "material", "name", "process", "machine", "g/cm3", "price/kg", "min wall"
        ));
    }
    for material in book.materials.values() {
        let machine = &book.machines[&material.machine];
        let technology = machine.process.technology().name();
        if json_lines {
            let line = json!({
                "id": material.id, "name": material.name, "technology": technology, "machine": material.machine,
                "density_g_cm3": material.density_g_cm3, "price_per_kg_minor": material.price_per_kg_minor,
                "currency": book.currency, "min_wall_mm": material.min_wall_mm, "price_book_version": book.version,
            });
            out.push_str(&format!("{line}\n"));
        } else {
            out.push_str(&format!(
                "{:<16} {:<16} {:<8} {:<10} {:>8.2} {:>14} {:>6.2} mm\n",
                material.id,
                material.name,
                technology,
                material.machine,
                material.density_g_cm3,
                money(book, material.price_per_kg_minor),
                material.min_wall_mm
            ));
        }
    }
    out
}
