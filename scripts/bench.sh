#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, against throwaway services (see with_services.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with_services.sh 55532 56479 .venv/bin/python bench/run.py
