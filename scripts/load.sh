#!/usr/bin/env bash
# `make load`: throwaway services, the demo data, gunicorn + a Celery worker, then Locust headless
# (USERS concurrent users, default 100, for DURATION, default 5m); prints throughput, latency
# percentiles and errors, and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q -r requirements-load.txt
exec scripts/with_services.sh 55732 56679 scripts/load_in_services.sh
