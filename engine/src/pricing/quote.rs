//! `Quote`: the price of a print, line by line, in integer minor units.
//!
//! The estimate says what a piece uses ([`Usage`]: material and support mass, machine time);
//! the price book says what that costs. Physical quantities are turned into integers first
//! (milligrams, whole seconds), then every line is one integer product divided once, with the
//! book's rounding: no money is ever a float, and the same inputs always give the same amounts.
//!
//! Per piece: material, support material and machine time (each with the book's margin), the
//! piece's share of the setup fee; on their subtotal, the priority and lead-time surcharges and
//! the quantity discount; then, if the piece comes under the minimum price, a line that lifts it
//! there. The total is the unit price times the quantity.

use super::book::{LeadTime, Material, PriceBook, Rounding};

/// What one piece uses, from the estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub material_g: f64,
    pub support_g: f64,
    pub machine_time_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Regular,
    High,
}

impl Priority {
    pub fn name(self) -> &'static str {
        match self {
            Priority::Regular => "regular",
            Priority::High => "high",
        }
    }
}

/// What the customer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    pub material: String,
    pub quantity: u32,
    pub priority: Priority,
    /// A lead time id of the book; `None` for its first (default) one.
    pub lead_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    /// `material`, `support_material`, `machine_time`, `setup`, `priority_surcharge`,
    /// `lead_time_surcharge`, `quantity_discount`, `minimum_price`.
    pub kind: &'static str,
    pub description: String,
    /// Per piece; negative for a discount.
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Derived from the model's bytes, the request, the engine version and the price book
    /// version: the same inputs always give the same id.
    pub id: String,
    pub currency: String,
    pub price_book_version: String,
    pub material: String,
    pub quantity: u32,
    pub lead_time: String,
    pub lines: Vec<QuoteLine>,
    pub unit_price_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("unknown material `{material}` (the price book has: {known})")]
    UnknownMaterial { material: String, known: String },
    #[error("unknown lead time `{lead_time}` (the price book has: {known})")]
    UnknownLeadTime { lead_time: String, known: String },
    #[error("the quantity must be at least 1")]
    ZeroQuantity,
    #[error("the estimate's {what} is {value}, which cannot be priced")]
    InvalidUsage { what: &'static str, value: String },
}

/// `numerator / denominator`, rounded once as the book says. Both are non-negative.
fn divide(numerator: i128, denominator: i128, rounding: Rounding) -> i64 {
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    let up = match (2 * remainder).cmp(&denominator) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match rounding {
            Rounding::HalfUp => true,
            Rounding::HalfEven => quotient % 2 == 1,
        },
    };
    (quotient + i128::from(up)) as i64
}

/// A non-negative physical quantity as a whole number of `per_unit`ths (milligrams, seconds).
fn whole(what: &'static str, value: f64, per_unit: f64) -> Result<i128, PricingError> {
    if !(value.is_finite() && value >= 0.0 && value * per_unit < 1e18) {
        return Err(PricingError::InvalidUsage {
            what,
            value: value.to_string(),
        });
    }
    Ok((value * per_unit).round() as i128)
}

const BP: i128 = 10_000;

/// Checks `request` against `book`: its material, lead time and quantity. Returns the
/// material and the lead time it names.
pub fn check_request<'a>(
    request: &QuoteRequest,
    book: &'a PriceBook,
) -> Result<(&'a Material, &'a LeadTime), PricingError> {
    let material =
        book.material(&request.material)
            .ok_or_else(|| PricingError::UnknownMaterial {
                material: request.material.clone(),
                known: book
                    .materials
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    let lead_time = match &request.lead_time {
        None => &book.lead_times[0],
        Some(id) => book
            .lead_times
            .iter()
            .find(|lead| &lead.id == id)
            .ok_or_else(|| PricingError::UnknownLeadTime {
                lead_time: id.clone(),
                known: book
                    .lead_times
                    .iter()
                    .map(|lead| lead.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
    };
    if request.quantity == 0 {
        return Err(PricingError::ZeroQuantity);
    }
    Ok((material, lead_time))
}

/// Prices `usage` for `request`; `identity` (the model's bytes, or a [`digest`] of them and of
/// how the piece was estimated) only feeds the quote id.
pub fn quote(
    usage: &Usage,
    request: &QuoteRequest,
    book: &PriceBook,
    identity: &[u8],
) -> Result<Quote, PricingError> {
    let (material, lead_time) = check_request(request, book)?;
    let machine = &book.machines[&material.machine];
    let rounding = book.rounding;
    let margin = BP + i128::from(book.margin_bp);
    let material_mg = whole("material mass (g)", usage.material_g, 1000.0)?;
    let support_mg = whole("support mass (g)", usage.support_g, 1000.0)?;
    let seconds = whole("machine time (s)", usage.machine_time_s, 1.0)?;
    let per_kg = i128::from(material.price_per_kg_minor);

    let mut lines = vec![
        QuoteLine {
            kind: "material",
            description: format!("{} {:.1} g", material.name, usage.material_g),
            amount_minor: divide(per_kg * material_mg * margin, 1_000_000 * BP, rounding),
        },
        QuoteLine {
            kind: "support_material",
            description: format!("{} support {:.1} g", material.name, usage.support_g),
            amount_minor: divide(per_kg * support_mg * margin, 1_000_000 * BP, rounding),
        },
        QuoteLine {
            kind: "machine_time",
            description: format!("{} for {:.2} h", machine.id, usage.machine_time_s / 3600.0),
            amount_minor: divide(
                i128::from(machine.hourly_rate_minor) * seconds * margin,
                3600 * BP,
                rounding,
            ),
        },
        QuoteLine {
            kind: "setup",
            description: format!("setup fee shared by {} pieces", request.quantity),
            amount_minor: divide(
                i128::from(book.setup_fee_minor),
                i128::from(request.quantity),
                rounding,
            ),
        },
    ];
    let subtotal = i128::from(lines.iter().map(|line| line.amount_minor).sum::<i64>());
    let percent_line = |kind, description: String, bp: u32, sign: i64| QuoteLine {
        kind,
        description,
        amount_minor: sign * divide(subtotal * i128::from(bp), BP, rounding),
    };
    if request.priority == Priority::High && book.priority_surcharge_bp > 0 {
        lines.push(percent_line(
            "priority_surcharge",
            format!("priority {}%", bp_text(book.priority_surcharge_bp)),
            book.priority_surcharge_bp,
            1,
        ));
    }
    if lead_time.surcharge_bp > 0 {
        lines.push(percent_line(
            "lead_time_surcharge",
            format!(
                "{} ({} days) {}%",
                lead_time.id,
                lead_time.days,
                bp_text(lead_time.surcharge_bp)
            ),
            lead_time.surcharge_bp,
            1,
        ));
    }
    let discount = book.quantity_discount_bp(request.quantity);
    if discount > 0 {
        lines.push(percent_line(
            "quantity_discount",
            format!("{} pieces -{}%", request.quantity, bp_text(discount)),
            discount,
            -1,
        ));
    }
    let mut unit_price_minor: i64 = lines.iter().map(|line| line.amount_minor).sum();
    if unit_price_minor < book.minimum_price_minor {
        lines.push(QuoteLine {
            kind: "minimum_price",
            description: "up to the minimum price per piece".to_string(),
            amount_minor: book.minimum_price_minor - unit_price_minor,
        });
        unit_price_minor = book.minimum_price_minor;
    }
    Ok(Quote {
        id: quote_id(identity, request, book),
        currency: book.currency.clone(),
        price_book_version: book.version.clone(),
        material: material.id.clone(),
        quantity: request.quantity,
        lead_time: lead_time.id.clone(),
        lines,
        unit_price_minor,
        total_minor: unit_price_minor * i64::from(request.quantity),
    })
}

fn bp_text(bp: u32) -> String {
    if bp.is_multiple_of(100) {
        format!("{}", bp / 100)
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
    }
}

/// FNV-1a over `parts`, each preceded by its length so that no two run together. A stable
/// identifier, not a secret.
pub fn digest(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for chunk in [&(part.len() as u64).to_le_bytes()[..], part] {
            for &byte in chunk {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    hash
}

/// A stable identifier of a large input (a model's bytes): blocks of `BLOCK` bytes are hashed
/// in parallel, eight bytes at a time (multiply and rotate, so that every bit reaches every
/// other), and the blocks' hashes, in order, are [`digest`]ed. The same bytes give the same
/// identifier whatever the number of threads. Not a secret.
pub fn bulk_digest(bytes: &[u8]) -> u64 {
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 16;
    let blocks: Vec<u8> = bytes
        .par_chunks(BLOCK)
        .map(|block| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            let mut words = block.chunks_exact(8);
            for word in &mut words {
                let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
                hash = (hash ^ word)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(29);
            }
            for &byte in words.remainder() {
                hash = (hash ^ u64::from(byte))
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(29);
            }
            hash.to_le_bytes()
        })
        .flatten_iter()
        .collect();
    digest(&[&blocks, &(bytes.len() as u64).to_le_bytes()])
}

/// The digest of the identity, the request, the engine version and the price book version.
fn quote_id(identity: &[u8], request: &QuoteRequest, book: &PriceBook) -> String {
    let hash = digest(&[
        identity,
        request.material.as_bytes(),
        &request.quantity.to_le_bytes(),
        &[u8::from(request.priority == Priority::High)],
        request.lead_time.as_deref().unwrap_or("").as_bytes(),
        crate::VERSION.as_bytes(),
        book.version.as_bytes(),
    ]);
    format!("q-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_once_and_as_the_book_says() {
        assert_eq!(divide(5, 2, Rounding::HalfUp), 3);
        assert_eq!(divide(5, 2, Rounding::HalfEven), 2);
        assert_eq!(divide(7, 2, Rounding::HalfEven), 4);
        assert_eq!(divide(7, 3, Rounding::HalfUp), 2);
        assert_eq!(divide(8, 3, Rounding::HalfEven), 3);
    }
}
