//! Pricing: the price book, and the quote of what an estimate says a piece uses.

mod book;
mod quote;

pub use book::{
    DEFAULT_PRICE_BOOK_TOML, FdmProcess, LeadTime, Machine, Material, OpenMeshPolicy, PriceBook,
    PriceBookError, Process, QuantityBand, Rounding, SlaProcess, SlsProcess, Technology,
};
pub use quote::{
    PricingError, Priority, Quote, QuoteLine, QuoteRequest, Usage, bulk_digest, check_request,
    digest, quote,
};
