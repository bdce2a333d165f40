#!/usr/bin/env bash
set -euo pipefail
export DJANGO_SETTINGS_MODULE=anshun.settings.dev API_RATE_USER=100000/minute LOG_LEVEL=WARNING
out=$(mktemp -d "${TMPDIR:-/tmp}/anshun-load.XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py load_anshun --demo -v0
.venv/bin/python manage.py collectstatic --no-input -v0
# The sync clients' keys, issued as an admin would (one day is enough for a run).
LOAD_TOKENS=""
for account in sync-grid sync-dispatch sync-mediation; do
  key=$(.venv/bin/python manage.py issue_api_token "$account" --name load-test --days 1 2>/dev/null)
  LOAD_TOKENS+="$account=$key,"
done
export LOAD_TOKENS
GUNICORN_BIND=127.0.0.1:8765 .venv/bin/gunicorn anshun.wsgi:application --config gunicorn.conf.py \
  --env DJANGO_SETTINGS_MODULE=anshun.settings.load --log-level warning >"$out/web.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A anshun worker --concurrency 1 -l warning >"$out/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do curl -fs http://127.0.0.1:8765/healthz >/dev/null && break; sleep 1; done
.venv/bin/locust -f loadtest/locustfile.py --headless --host http://127.0.0.1:8765 \
  -u "${USERS:-100}" -r "${SPAWN_RATE:-10}" -t "${DURATION:-5m}" --csv "$out/load" --only-summary \
  2>&1 | tail -40
echo "CSV results in $out"
