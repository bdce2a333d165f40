#!/usr/bin/env bash
# The body of `make load` (scripts/load.sh), run with DATABASE_URL and REDIS_URL set.
set -euo pipefail
export DJANGO_SETTINGS_MODULE=anshun.settings.dev API_RATE_USER=100000/minute LOG_LEVEL=WARNING
users=${USERS:-100}
out=$(mktemp -d "${TMPDIR:-/tmp}/anshun-load.XXXXXX")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py load_anshun --demo -v0
.venv/bin/python manage.py collectstatic --no-input -v0
# Distinct accounts per role, spread over the grid offices and counties; the service accounts' keys
# are issued as an admin would and handed over in a file only this user can read.
.venv/bin/python loadtest/setup.py "$out/accounts.json" --per-role $(( (users * 45 + 99) / 100 ))
GUNICORN_BIND=127.0.0.1:8765 .venv/bin/gunicorn anshun.wsgi:application --config gunicorn.conf.py \
  --env DJANGO_SETTINGS_MODULE=anshun.settings.load --log-level warning >"$out/web.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A anshun worker --concurrency 1 -l warning >"$out/worker.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A anshun beat -l warning -s "$out/beat-schedule" >"$out/beat.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do curl -fs http://127.0.0.1:8765/healthz >/dev/null && break; sleep 1; done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores, shared)"
LOAD_ACCOUNTS="$out/accounts.json" LOAD_REPORT="$out/report.md" "${LOCUST:-locust}" -f loadtest/locustfile.py \
  --headless --host http://127.0.0.1:8765 -u "$users" -r "${SPAWN_RATE:-5}" -t "${DURATION:-5m}" \
  --csv "$out/load" --only-summary --loglevel WARNING >"$out/locust.log" 2>&1 &
locust_pid=$!
# The machine's load while the test runs (once a minute), beside the figures.
( while kill -0 $locust_pid 2>/dev/null; do sleep 60; echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"; done ) &
wait $locust_pid || true
cat "$out/report.md" 2>/dev/null || tail -40 "$out/locust.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "survey rollups: $(.venv/bin/python manage.py shell -v 0 -c 'from surveys.models import AnswerDelta, RollupRun; print(RollupRun.objects.filter(status="done").count(), "runs done,", AnswerDelta.objects.count(), "answer changes still queued")' 2>/dev/null || echo '?')"
echo "results (CSV, the table, server logs) in $out"
