#!/usr/bin/env bash
# The part of `make test` that needs the database: the migration check and pytest.
# TEST_WORKERS (default 2, one per core) runs the tests on that many pytest-xdist workers, each
# with its own copy of the template test database and its own Redis database; TEST_WORKERS=1
# runs them in one process.
set -euo pipefail
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
echo "== tests"
workers=${TEST_WORKERS:-2}
parallel=()
if (( workers > 1 )); then
  parallel=(-n "$workers" --dist load -p tests.xdist_worker_env)
fi
.venv/bin/python -m pytest --durations=25 "${parallel[@]}" "$@"
