#!/usr/bin/env bash
# Set up a fresh Debian machine with Python 3.11 and pip: system libraries for Qt under
# Xvfb, torch (CPU build where one is on disk), then this package with its Qt and test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

apt_missing=()
command -v Xvfb >/dev/null 2>&1 || apt_missing+=(xvfb)
for pkg in libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0 \
           libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 libgl1 libegl1; do
  dpkg -s "$pkg" >/dev/null 2>&1 || apt_missing+=("$pkg")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing system packages: ${apt_missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

# torch first: 2.13.0 is the CPU build on disk on these machines; a bare `torch` requirement
# on an empty environment would pull several GB of CUDA packages.
$PY -c "import torch" 2>/dev/null || $PY -m pip install -q torch==2.13.0
$PY -m pip install -q -e ".[all,testing]"
