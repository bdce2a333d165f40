#!/usr/bin/env bash
# `make load`: throwaway services, the demo data plus the load test's own accounts, gunicorn, a
# Celery worker and beat, then Locust headless (USERS concurrent users, default 100, for DURATION,
# default 5m). Prints per request type p50/p95/p99, errors and timeouts, and stops everything it
# started. Locust lives in its own virtualenv (.local/load-venv) so it never changes the app's.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.local/load-venv
if [[ ! -x $venv/bin/locust ]] || ! cmp -s requirements-load.txt "$venv/requirements-load.txt"; then
  mkdir -p .local
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r requirements-load.txt
  cp requirements-load.txt "$venv/requirements-load.txt"
fi
export LOCUST="${LOCUST:-$PWD/$venv/bin/locust}"
exec scripts/with_services.sh 55732 56679 scripts/load_in_services.sh
