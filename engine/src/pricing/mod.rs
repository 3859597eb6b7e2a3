//! Pricing: the price book (issue #3, started). The quote itself (itemised lines in minor
//! units) will be computed from an estimate against a `PriceBook`.

mod book;

pub use book::{
    DEFAULT_PRICE_BOOK_TOML, FdmProcess, LeadTime, Machine, Material, OpenMeshPolicy, PriceBook,
    PriceBookError, Process, QuantityBand, Rounding, SlaProcess, SlsProcess, Technology,
};
