#!/usr/bin/env bash
# `make test`: lint, translations, migration check and every test, against throwaway
# PostgreSQL/PostGIS and Redis (see with_services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=anshun.settings.test
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread

echo "== lint"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== translations"
DJANGO_SETTINGS_MODULE=anshun.settings.dev .venv/bin/python manage.py compilemessages -v0 --ignore=.venv --ignore=.local --ignore=node_modules
exec scripts/with_services.sh 55432 56379 scripts/pytest_in_services.sh "$@"
