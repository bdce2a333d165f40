#!/usr/bin/env bash
# The part of `make test` that needs the database: the migration check and pytest.
# TEST_WORKERS=2 runs the tests on two pytest-xdist workers, each with its own PostgreSQL server
# (a copy of the template test database) and its own Redis database. The default is one process:
# under xdist the fault tests' private stack did not start on the first worker (not yet solved).
set -euo pipefail
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
echo "== tests"
workers=${TEST_WORKERS:-1}
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
.venv/bin/python -m pytest --durations=25 "${parallel[@]}" "$@"
