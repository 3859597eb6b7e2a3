#!/usr/bin/env bash
# Everything CI checks, in the order a developer would run it. Run from the repository root.
set -euo pipefail

step() { printf '\n=== %s\n' "$*"; }

step "toolchain"
cargo --version
rustc --version

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "tests (the README's test command)"
if [ "${CI:-}" = "true" ] && [ ! -d ../shared/models ]; then
  echo "CI=true but ../shared/models is missing: the corpus tests cannot run" >&2
  exit 1
fi
cargo test --workspace
