//! The pricing engine: from the bytes of a 3D model to an itemised quote.
//!
//! One data flow, each stage a pure function of its inputs:
//!
//! ```text
//! bytes ──mesh::parse──▶ Mesh ──analysis::analyze──▶ Analysis
//!   per candidate orientation: orientation::orient ─▶ support::supports
//!     ─▶ estimate::estimate (slicing::slice) ─▶ Estimate ─▶ pricing::quote ─▶ Quote
//! ```
//!
//! [`mesh::parse`] detects the format from the content (binary or ASCII STL, OBJ, 3MF), decodes
//! it, converts it to millimetres and welds exactly coincident corners into an indexed
//! [`Mesh`]; bad input is a [`MeshError`] that says what is wrong and where.
//! [`analysis::analyze`] measures the mesh: volume, area, bounding box, centroid, shells,
//! watertightness, winding, boundary and non-manifold edges, and warnings. [`quote_model`]
//! runs the whole flow: it stands the part on each candidate orientation that fits the
//! machine, finds its supports, estimates the print for the machine's technology (FDM, SLA,
//! SLS), prices it from a [`pricing::PriceBook`], and keeps the best by the request's
//! objective with the next ones as alternatives. Per-face and per-candidate work runs on
//! rayon's global pool; sums are taken over fixed chunks so results do not depend on the
//! number of threads.
//!
//! The engine does no I/O beyond reading from a caller's `Read`, and knows nothing about gRPC,
//! queues or the command line.

pub mod analysis;
pub mod estimate;
pub mod manufacturability;
pub mod memory;
pub mod mesh;
pub mod orientation;
pub mod pipeline;
pub mod pricing;
mod raycast;
pub mod slicing;
pub mod support;

/// The shared model corpus beside the repository, for unit tests that read it: `None` (the
/// test says it skipped) when it is missing, except in CI, which always has it.
#[cfg(test)]
fn shared_models() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing",
        dir.display()
    );
    eprintln!("SKIPPED: {} is missing", dir.display());
    None
}

pub use analysis::{Analysis, analyze};
pub use mesh::{LoadOptions, Mesh, MeshError, parse};
pub use pipeline::{ModelQuote, QuoteError, QuoteOptions, quote_model};

/// The engine's version, part of every quote id.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
