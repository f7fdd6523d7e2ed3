#!/usr/bin/env bash
# The whole test suite: doctests (README included), then every crate's unit, integration and
# property tests, and the store conformance suite on the in-memory store and on Postgres.
# Needs only Rust: Postgres is installed (Debian package) and started as a throwaway cluster
# when DATABASE_URL is not set, and stopped on exit (tests/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tests/postgres.sh
source tests/postgres.sh

cargo test -p helpdesk-core --all-features --doc
# Tests named exclusive_* need the database to themselves (one stops it, one relays every
# tenant's events): they run after the rest, one at a time.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast -E 'not test(/exclusive_/)'
  cargo nextest run --workspace --all-features --no-fail-fast -E 'test(/exclusive_/)' --test-threads 1
else
  echo "cargo-nextest not found; using cargo test" >&2
  cargo test --workspace --all-features --no-fail-fast --lib --bins --tests --examples -- --skip exclusive_
  cargo test --workspace --all-features --no-fail-fast --lib --bins --tests --examples -- exclusive_ --test-threads 1
fi
