//! Pricing: the price book, and the quote of what an estimate says a piece uses (issue #3,
//! started: the estimate that produces the [`Usage`] is not written yet).

mod book;
mod quote;

pub use book::{
    DEFAULT_PRICE_BOOK_TOML, FdmProcess, LeadTime, Machine, Material, OpenMeshPolicy, PriceBook,
    PriceBookError, Process, QuantityBand, Rounding, SlaProcess, SlsProcess, Technology,
};
pub use quote::{PricingError, Priority, Quote, QuoteLine, QuoteRequest, Usage, quote};
