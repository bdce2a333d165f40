#!/usr/bin/env bash
# Runs a command with throwaway PostgreSQL/PostGIS and Redis in a temporary directory
# (unless DATABASE_URL and REDIS_URL are already set), and stops them afterwards by
# PID -- also when the command fails or is interrupted.
#   with_services.sh PG_PORT REDIS_PORT COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
pg_port=$1 redis_port=$2
shift 2
STATE=$(mktemp -d "${TMPDIR:-/tmp}/anshun-services.XXXXXX")
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
    PG_PORT=$pg_port REDIS_PORT=$redis_port PG_FSYNC=off PG_TUNE=${PG_TUNE:-off} scripts/services.sh start "$STATE")
  started_services=1
fi
"$@"
