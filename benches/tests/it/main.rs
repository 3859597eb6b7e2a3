//! Tests of `pricing-bench`: the committed fixtures are exactly what the generator writes, and
//! the CLI keeps the `analyze --json` contract of DESIGN.md.

mod accuracy;
mod cli;
mod fixtures;

use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
