#!/usr/bin/env bash
# Installs whatever a fresh Debian 12 machine lacks to run and test the platform:
# system packages through apt (only the missing ones), then the Python virtualenv
# from requirements.lock. Safe to run again: it does nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3 redis-server
  gdal-bin libgdal32 libgeos-c1v5 libproj25
  gettext chromium fonts-noto-cjk
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if ! command -v python3.11 >/dev/null 2>&1; then
  missing+=(python3.11 python3.11-venv)
fi
if (( ${#missing[@]} )); then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=$(command -v python3.11)
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Front-end libraries (Chart.js), served locally from /static/vendor/.
node_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [[ ! -f "$node_stamp" ]]; then
  echo "setup: installing front-end libraries"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$node_stamp"
fi
