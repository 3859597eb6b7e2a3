//! The engineer's tools around the pricing engine: the report formats of `pricing-bench`, the
//! benchmark runner and the model generator. `main.rs` only parses flags and calls these.

pub mod accuracy;
pub mod analyze;
pub mod generate;
pub mod load;
pub mod materials;
pub mod quote;
pub mod run;
