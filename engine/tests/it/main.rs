//! Integration tests of the engine: one binary, one module per concern.
//!
//! Every module touches the engine through the helpers here, so the API is exercised the way
//! callers use it.

mod estimate;
mod fixtures;
mod formats;
mod manufacturability;
mod oracles;
mod orientation;
mod price_book;
mod properties;
mod quote;
mod reference;
mod robustness;
mod slicing;
mod support;

use std::path::PathBuf;

use pricing_engine::mesh::{LoadOptions, Mesh, MeshError};
use pricing_engine::{Analysis, analyze, parse};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("fixtures/models").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|err| panic!("cannot read fixture {}: {err}", path.display()))
}

/// `../shared/models` beside the repository. In CI it must exist; elsewhere its absence skips
/// the tests that need it, and they say so.
pub fn shared_models() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/models");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {} does not exist: the shared model corpus must be beside the repository",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: {} does not exist, so the tests against the shared corpus did not run",
        dir.display()
    );
    None
}

pub fn load(bytes: &[u8]) -> Result<Mesh, MeshError> {
    parse(bytes, &LoadOptions::default())
}

pub fn load_and_analyze(bytes: &[u8]) -> Result<Analysis, MeshError> {
    load(bytes).map(|mesh| analyze(&mesh))
}

/// Relative difference, safe at zero.
pub fn relative(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}
