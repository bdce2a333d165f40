#!/usr/bin/env bash
# `make test`: throwaway PostgreSQL/PostGIS and Redis (unless DATABASE_URL/REDIS_URL are
# set), lint, every test, then stop what was started -- also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=$(mktemp -d "${TMPDIR:-/tmp}/anshun-test.XXXXXX")
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
    PG_PORT=55432 REDIS_PORT=56379 PG_FSYNC=off scripts/services.sh start "$STATE")
  started_services=1
fi
export DJANGO_SETTINGS_MODULE=anshun.settings.test
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread

echo "== lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== translations"
.venv/bin/python manage.py compilemessages -v0 --ignore=.venv --ignore=.local
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
echo "== tests"
.venv/bin/python -m pytest --create-db "$@"
