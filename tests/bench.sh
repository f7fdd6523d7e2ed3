#!/usr/bin/env bash
# Runs a Postgres benchmark of helpdesk-sqlx against DATABASE_URL, or against a throwaway
# cluster started (and stopped) like the tests do. Usage: bash tests/bench.sh ingest|listing|report
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 ingest|listing|report" >&2; exit 2; }
# shellcheck source=tests/postgres.sh
source tests/postgres.sh
cargo bench -p helpdesk-sqlx --bench "$1"
