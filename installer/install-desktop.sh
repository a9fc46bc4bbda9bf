#!/usr/bin/env bash
# Put an unpacked Soul Studio bundle on the desktop: a `soul-studio` link in ~/.local/bin,
# the launcher entry, the icon and the .soulproj file type, for the current user.
# Run it from inside the bundle folder (it sits next to the `soul-studio` executable).
set -euo pipefail
APP="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
BIN="$HOME/.local/bin"
mkdir -p "$BIN" "$DATA/applications" "$DATA/icons/hicolor/256x256/apps" "$DATA/icons/hicolor/scalable/apps" \
  "$DATA/mime/packages"
ln -sf "$APP/soul-studio" "$BIN/soul-studio"
sed "s#^Exec=soul-studio#Exec=$APP/soul-studio#; s#^TryExec=soul-studio#TryExec=$APP/soul-studio#" \
  "$APP/share/applications/soul-studio.desktop" > "$DATA/applications/soul-studio.desktop"
cp "$APP/share/icons/hicolor/256x256/apps/soul-studio.png" "$DATA/icons/hicolor/256x256/apps/"
cp "$APP/share/icons/hicolor/scalable/apps/soul-studio.svg" "$DATA/icons/hicolor/scalable/apps/"
cp "$APP/share/mime/packages/soul-studio.xml" "$DATA/mime/packages/"
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATA/mime" || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$DATA/applications" || true
echo "Soul Studio installed for $USER: run 'soul-studio' or find it in your applications menu."
