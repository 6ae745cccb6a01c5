#!/usr/bin/env bash
# Set up rqbench from nothing: the Debian data packages it reads, uv, and a virtualenv in .venv
# holding exactly the packages in uv.lock (the PyTorch trio included).
# Idempotent: re-running it only installs what is missing and removes what the lock does not list.
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

# uv, pinned, in its own small virtualenv (.tools) so that syncing .venv never removes it.
uv_version="0.13.9"
python="${PYTHON:-python3}"
if ! .tools/bin/uv --version 2>/dev/null | grep -qx "uv $uv_version"; then
    "$python" -m venv .tools
    .tools/bin/python -m pip install -q "uv==$uv_version"
fi

# .venv = uv.lock exactly (--locked: fail instead of re-resolving when pyproject.toml and the lock disagree).
export UV_PYTHON_DOWNLOADS=never
.tools/bin/uv sync --locked --python "$python"

# RQ's C++ kernel, built once per machine into the cache (optional: without a compiler RQ runs eager).
.venv/bin/python -c 'import sys; from rqbench.augment.native import main; sys.exit(main())'
