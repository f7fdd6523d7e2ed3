#!/usr/bin/env bash
# The whole test suite: doctests (README included), then every crate's unit, integration and
# property tests and the store conformance suite. Needs only Rust.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test -p helpdesk-core --all-features --doc
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast
else
  echo "cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --all-features --no-fail-fast --lib --bins --tests --examples
fi
