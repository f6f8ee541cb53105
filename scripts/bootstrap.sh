#!/usr/bin/env bash
# Create or refresh .venv with everything the cell, its tests and benchmarks need.
# Idempotent and quick when nothing changed (the Makefile calls it only when inputs changed).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

# Debian packages: libusb for open3d; EGL (Mesa) for MuJoCo's headless renderer; chromium for UI tests.
need=()
ldconfig -p | grep -q 'libusb-1.0.so.0' || need+=(libusb-1.0-0)
ldconfig -p | grep -q 'libEGL.so.1' || need+=(libegl1 libgl1-mesa-dri)
# headless browser for the audit UI test (Playwright drives Debian's chromium; its own download fails here)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: please install Debian packages: ${need[*]} (needs root)" >&2
    exit 1
  fi
  echo "bootstrap: apt-get install ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v 'is ignored' || true
"$VENV/bin/python" -m pip install -q -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v 'is ignored' || true
# editable install: console entry points (`robin-cell`, the nodes) resolve to this checkout
"$VENV/bin/python" -m pip install -q --no-deps -e . >"$VENV/editable-install.log" 2>&1 \
  || { cat "$VENV/editable-install.log" >&2; exit 1; }
"$VENV/bin/python" -c 'import rclpy, mujoco, onnxruntime, torch, open3d' \
  || { echo 'bootstrap: import check failed' >&2; exit 1; }
touch "$VENV/.installed"
