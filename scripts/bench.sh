#!/usr/bin/env bash
# `make bench`: every benchmark in bench/, against throwaway services (see with_services.sh),
# PostgreSQL tuned as `make run` tunes it (PG_TUNE=off for the defaults). BENCH_SCALE=full runs
# the volume-sensitive benches at 3,000,000 incidents (see bench/volume.py); topics limit the run:
# scripts/bench.sh beat sync.
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_TUNE=${PG_TUNE:-on} BENCH_SCALE=${BENCH_SCALE:-quick}
exec scripts/with_services.sh 55532 56479 .venv/bin/python bench/run.py "$@"
