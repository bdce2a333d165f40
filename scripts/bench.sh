#!/usr/bin/env bash
# `make bench`: throwaway services (unless DATABASE_URL/REDIS_URL are set), then every benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=$(mktemp -d "${TMPDIR:-/tmp}/anshun-bench.XXXXXX")
started_services=0
cleanup() {
  status=$?
  trap - EXIT INT TERM
  if (( started_services )); then scripts/services.sh stop "$STATE"; fi
  rm -rf "$STATE"
  exit $status
}
trap cleanup EXIT INT TERM
if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
  chmod 0755 "$STATE"
  while IFS= read -r line; do export "$line"; done < <(
    PG_PORT=55532 REDIS_PORT=56479 scripts/services.sh start "$STATE")
  started_services=1
fi
.venv/bin/python bench/run.py
