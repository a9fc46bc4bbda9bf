#!/usr/bin/env bash
# Check a built bundle without a display: the command line answers, the engine process
# starts from the bundle, the demo renders and exports headless with the sketch engine,
# the main window opens offscreen on the demo, and the soul backend says what it needs.
# Usage: bash installer/smoke_bundle.sh [BUNDLE_DIR]   (default dist/soul-studio)
set -euo pipefail
cd "$(dirname "$0")/.."
APP="${1:-dist/soul-studio}"
EXE="$APP/soul-studio"
[ -x "$EXE" ] || { echo "smoke_bundle: no bundle at $APP; run installer/build_bundle.sh" >&2; exit 1; }
export QT_QPA_PLATFORM=offscreen
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export SOUL_STUDIO_CONFIG_DIR="$WORK/config" XDG_CONFIG_HOME="$WORK/xdg-config" XDG_DATA_HOME="$WORK/xdg-data"
step() { echo "smoke_bundle: $*"; }
T0=$(date +%s)

step "version";        "$EXE" --version
step "engine";         "$EXE" -m engine --help >/dev/null
if "$EXE" --help | grep -q " models "; then
  step "models";       "$EXE" models list
  step "models vram";  "$EXE" models vram | tail -n 5
fi
step "demo headless";  "$EXE" demo --headless --folder "$WORK/demo" | tail -n 3
T1=$(date +%s)
ls "$WORK/demo/takes"/*.mp4 >/dev/null
# The sketch engine meshed the demo faces with MediaPipe (not the Haar fallback).
grep -l '"source": "mesh"' "$WORK/demo/takes"/*.json >/dev/null \
  || { echo "smoke_bundle: the demo takes were not animated from a face mesh" >&2; exit 1; }
EXPORTS=$(find "$WORK/demo" -name "*.mp4" -not -path "*/takes/*" | wc -l)
[ "$EXPORTS" -ge 1 ] || { echo "smoke_bundle: the demo export is missing" >&2; exit 1; }
step "window";         "$EXE" --smoke-test "$WORK/demo/demo.soulproj" 2>/dev/null | tee "$WORK/window.txt"
grep -q "^OK" "$WORK/window.txt"
T2=$(date +%s)
echo "smoke_bundle: OK (demo render+export $((T1 - T0)) s, window $((T2 - T1)) s)"
