"""The dark theme: QSS from resources/theme, a matching palette, icons and colours.

Panels and the timeline read their colours from :data:`COLORS` so painted items and
styled widgets agree.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from soul_studio.resources import resources_dir

RESOURCES = resources_dir()
THEME_FILE = RESOURCES / "theme" / "dark.qss"
ICON_FOLDER = RESOURCES / "icons"

COLORS = {
    "window": "#161719",
    "panel": "#232427",
    "panel_dark": "#1b1c1e",
    "track_bg": "#1f2023",
    "track_alt": "#1c1d20",
    "track_header": "#26272b",
    "ruler_bg": "#1d1e21",
    "ruler_text": "#8e9198",
    "ruler_tick": "#4b4e55",
    "text": "#c9cbd0",
    "text_dim": "#80848b",
    "text_bright": "#f1f2f4",
    "divider": "#0f1011",
    "accent": "#e0793a",
    "playhead": "#e5484d",
    "selection": "#f3a33b",
    "audio_clip": "#2f5e4f",
    "audio_wave": "#7fd3b0",
    "gap": "#18191b",
    "marker": "#e0c050",
    "state_none": "#6a6d73",
    "state_draft": "#4f8fd8",
    "state_final": "#5fb37a",
    "state_stale": "#d8a03c",
    "state_rendering": "#e0793a",
    "state_failed": "#e5484d",
}

STATE_LABELS = {
    "none": "NO TAKE",
    "draft": "DRAFT",
    "final": "FINAL",
    "stale": "STALE",
    "rendering": "RENDERING",
    "queued": "QUEUED",
    "failed": "FAILED",
}


def color(name: str) -> QColor:
    return QColor(COLORS[name])


@cache
def icon(name: str) -> QIcon:
    """An icon from resources/icons by name (empty icon when the file is missing)."""
    path = ICON_FOLDER / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def mono_font(size: int = 11) -> QFont:
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(size)
    return font


def apply_theme(app: QApplication) -> None:
    """Install the Fusion style, the dark palette and the QSS on ``app``."""
    app.setStyle("Fusion")
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#232427",
        QPalette.ColorRole.WindowText: "#c9cbd0",
        QPalette.ColorRole.Base: "#18191b",
        QPalette.ColorRole.AlternateBase: "#202124",
        QPalette.ColorRole.Text: "#dcdee2",
        QPalette.ColorRole.Button: "#34363b",
        QPalette.ColorRole.ButtonText: "#d9dbdf",
        QPalette.ColorRole.Highlight: "#3d5a80",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2f3135",
        QPalette.ColorRole.ToolTipText: "#e6e7ea",
        QPalette.ColorRole.PlaceholderText: "#6a6d73",
        QPalette.ColorRole.Link: "#e0793a",
    }
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6d73"))
    app.setPalette(palette)
    font = QFont("DejaVu Sans")
    font.setPixelSize(12)
    app.setFont(font)
    if THEME_FILE.exists():
        app.setStyleSheet(THEME_FILE.read_text(encoding="utf-8"))
    app.setWindowIcon(icon("soul-studio"))
