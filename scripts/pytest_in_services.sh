#!/usr/bin/env bash
# The part of `make test` that needs the database: the migration check and pytest.
set -euo pipefail
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run -v0
echo "== tests"
.venv/bin/python -m pytest --create-db "$@"
