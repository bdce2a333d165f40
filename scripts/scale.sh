#!/usr/bin/env bash
# `make scale`: five years of Anshun's data in a throwaway PostgreSQL/PostGIS and Redis (never the
# `make run` database), every page of issue #14 timed through gunicorn as four officials, at the
# 100k-incident checkpoint and at full volume. SCALE=0.05 for a quick run (default 1 = 3M incidents),
# REPEAT= requests per page (default 20). The table goes to .local/scale/report.md (SCALE_REPORT=).
# PostgreSQL is tuned as for `make run` (PG_TUNE=on), which is what the figures are about.
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_TUNE=${PG_TUNE:-on}
exec scripts/with_services.sh 55932 56879 .venv/bin/python scale/run.py "$@"
