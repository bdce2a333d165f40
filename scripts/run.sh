#!/usr/bin/env bash
# `make run`: services (project-local unless DATABASE_URL/REDIS_URL are set), migrations,
# Anshun's data and demo logins, then web + Celery worker + Celery beat (the last two kept
# running by scripts/supervise.sh). Ctrl-C stops everything this script started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-anshun.settings.dev}
PY=.venv/bin/python
STATE=.local
started_services=0
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if (( started_services )); then scripts/services.sh stop "$STATE"; fi
  echo "stopped."
}
trap cleanup EXIT INT TERM

if [[ -z "${DATABASE_URL:-}" || -z "${REDIS_URL:-}" ]]; then
  while IFS= read -r line; do
    name=${line%%=*}
    [[ -z "${!name:-}" ]] && export "$line"
  done < <(scripts/services.sh start "$STATE")
  started_services=1
fi

$PY manage.py compilemessages -v0 --ignore=.venv --ignore=.local
$PY manage.py migrate --no-input -v0
$PY manage.py load_anshun --demo

PORT=${PORT:-8000}
# The worker and beat are supervised: when one dies (killed, out of memory) it is started
# again, and the web server, database and Redis carry on. Tasks queued meanwhile wait in Redis
# (or in the database outbox while Redis is away, anshun.background).
scripts/supervise.sh worker "$STATE/worker.log" .venv/bin/celery -A anshun worker -l info --concurrency 2 &
pids+=($!)
scripts/supervise.sh beat "$STATE/beat.log" .venv/bin/celery -A anshun beat -l info &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
web=$!
pids+=("$web")
echo
echo "Ping'an Anshun is running at http://127.0.0.1:$PORT/  (map: /map/, API docs: /api/docs/)"
echo "Worker and beat logs: $STATE/worker.log, $STATE/beat.log. Ctrl-C stops everything."
# Only the web server ending (or Ctrl-C) ends the run.
wait "$web"
