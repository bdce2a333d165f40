#!/usr/bin/env bash
# The part of `make test` that needs the database: the migration check and pytest.
# TEST_WORKERS=N (N > 1) runs the tests on N pytest-xdist workers, each with its own PostgreSQL
# server (a copy of the template test database) and its own Redis database, and then the fault
# tests alone (see below). TEST_WORKERS=1 runs everything in one process.
set -euo pipefail
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
echo "== tests"
workers=${TEST_WORKERS:-2}
parallel=()
extra=()
stop_extra() {
  for state in "${extra[@]}"; do scripts/services.sh stop "$state" || true; rm -rf "$state"; done
}
trap stop_extra EXIT
if (( workers > 1 )); then
  parallel=(-n "$workers" --dist loadgroup -p tests.xdist_worker_env)
  # Worker 0 uses the server started for this run; every other worker gets a PostgreSQL server
  # of its own: the incident sync feed serves changes below the oldest running transaction,
  # which a server counts across all its databases, so one worker's open test transaction
  # would hold back the other's feed (tests/xdist_worker_env.py).
  for ((i = 1; i < workers; i++)); do
    state=$(mktemp -d "${TMPDIR:-/tmp}/anshun-services.XXXXXX")
    chmod 0755 "$state"
    extra+=("$state")
    url=$(PG_PORT=$((55442 + i)) REDIS_PORT=$((56389 + i)) PG_FSYNC=off PG_TUNE=${PG_TUNE:-off} \
      scripts/services.sh start "$state" | sed -n 's/^DATABASE_URL=//p')
    export "ANSHUN_TEST_DATABASE_URL_GW$i=$url"
  done
fi
if (( workers > 1 )); then
  # Two phases: everything but the fault tests on the workers, then the fault tests alone in one
  # process. The fault tests kill and restart services of their own private stack on fixed ports,
  # and on a 2-core machine they must not share the CPU with a second worker's browser and
  # Celery tests (their time limits are about a service's recovery, not about a busy machine).
  # Exit status 5 means "nothing selected" (a run given only some files): not a failure.
  status=0
  .venv/bin/python -m pytest --durations=25 "${parallel[@]}" -m "not faults" "$@" || status=$?
  if (( status == 0 || status == 5 )); then
    fault_status=0
    .venv/bin/python -m pytest --durations=5 -m faults "$@" || fault_status=$?
    if (( fault_status != 5 )); then status=$fault_status; elif (( status == 5 )); then status=0; fi
  fi
  exit "$status"
fi
.venv/bin/python -m pytest --durations=25 "$@"
