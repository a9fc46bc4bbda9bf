#!/usr/bin/env bash
# Build the Linux app bundle: dist/soul-studio/ (a folder with the `soul-studio` executable),
# then pack it as dist/soul-studio-linux-x86_64.tar.gz with the desktop entry and icon.
# Installs PyInstaller into the virtual environment when it is missing.
# Usage: bash installer/build_bundle.sh [--no-archive]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${SOUL_STUDIO_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "build_bundle: no virtual environment at $VENV; run installer/setup.sh first" >&2; exit 1; }

if ! "$PY" -c "import PyInstaller" >/dev/null 2>&1; then
  echo "build_bundle: installing PyInstaller"
  "$PY" -m pip install -q "pyinstaller>=6.6" 2>&1 | grep -v "^WARNING: Location" || true
fi

START=$(date +%s)
echo "build_bundle: running PyInstaller (several minutes)"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" installer/soul_studio.spec
APP="$ROOT/dist/soul-studio"
[ -x "$APP/soul-studio" ] || { echo "build_bundle: the bundle executable is missing" >&2; exit 1; }

# Desktop integration files travel with the bundle; install-desktop.sh puts them in place.
mkdir -p "$APP/share/applications" "$APP/share/icons/hicolor/256x256/apps" "$APP/share/icons/hicolor/scalable/apps" \
  "$APP/share/mime/packages"
cp installer/soul-studio.desktop "$APP/share/applications/"
cp installer/soul-studio.png "$APP/share/icons/hicolor/256x256/apps/soul-studio.png"
cp installer/soul-studio.svg "$APP/share/icons/hicolor/scalable/apps/soul-studio.svg"
cp installer/soul-studio-mime.xml "$APP/share/mime/packages/soul-studio.xml"
cp installer/install-desktop.sh "$APP/"

BUILT=$(date +%s)
SIZE=$(du -sm "$APP" | cut -f1)
echo "build_bundle: bundle $APP: ${SIZE} MB, built in $((BUILT - START)) s"
if [ "${1:-}" != "--no-archive" ]; then
  tar -C "$ROOT/dist" -czf "$ROOT/dist/soul-studio-linux-x86_64.tar.gz" soul-studio
  ARCH=$(du -sm "$ROOT/dist/soul-studio-linux-x86_64.tar.gz" | cut -f1)
  echo "build_bundle: archive dist/soul-studio-linux-x86_64.tar.gz: ${ARCH} MB ($(( $(date +%s) - BUILT )) s)"
fi
