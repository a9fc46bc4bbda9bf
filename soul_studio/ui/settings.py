"""User preferences, stored in an INI file under the platform's config folder.

One :class:`StudioSettings` object is created by the application and passed to every
window and panel that needs it, so tests can point it at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

APP_NAME = "SoulStudio"
MAX_RECENT = 10
BACKENDS = ("sketch", "soul", "infinitetalk", "test")


class StudioSettings:
    """Typed access to the studio's QSettings (recent files, backend, folders, layout)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            folder = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "studio.ini"
        self.path = Path(path)
        self.qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)

    # ------------------------------------------------------------- helpers
    def _get(self, key: str, default: object, kind: type) -> object:
        value = self.qsettings.value(key, default)
        if value is None:
            return default
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value: object) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()

    # -------------------------------------------------------- preferences
    @property
    def default_backend(self) -> str:
        value = str(self._get("render/backend", "sketch", str))
        return value if value in BACKENDS else "sketch"

    @default_backend.setter
    def default_backend(self, value: str) -> None:
        self._set("render/backend", value)

    @property
    def auto_draft(self) -> bool:
        return bool(self._get("render/auto_draft", True, bool))

    @auto_draft.setter
    def auto_draft(self, value: bool) -> None:
        self._set("render/auto_draft", bool(value))

    @property
    def draft_delay_ms(self) -> int:
        return int(self._get("render/draft_delay_ms", 800, int))

    @draft_delay_ms.setter
    def draft_delay_ms(self, value: int) -> None:
        self._set("render/draft_delay_ms", int(value))

    @property
    def gpu_index(self) -> int:
        return int(self._get("render/gpu", 0, int))

    @gpu_index.setter
    def gpu_index(self, value: int) -> None:
        self._set("render/gpu", int(value))

    @property
    def model_folder(self) -> str:
        return str(self._get("paths/models", "", str))

    @model_folder.setter
    def model_folder(self, value: str) -> None:
        self._set("paths/models", value)

    @property
    def cache_folder(self) -> Path:
        value = str(self._get("paths/cache", "", str))
        if value:
            return Path(value)
        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))

    @cache_folder.setter
    def cache_folder(self, value: str | os.PathLike[str]) -> None:
        self._set("paths/cache", os.fspath(value))

    @property
    def recovery_folder(self) -> Path:
        """Where unsaved work goes when the project's own folder cannot be written."""
        value = str(self._get("paths/recovery", "", str))
        if value:
            return Path(value)
        from soul_studio.models.settings import StudioPaths

        return StudioPaths.default().recovery_dir

    @recovery_folder.setter
    def recovery_folder(self, value: str | os.PathLike[str]) -> None:
        self._set("paths/recovery", os.fspath(value))

    @property
    def autosave_seconds(self) -> int:
        return max(5, int(self._get("document/autosave_s", 60, int)))

    @autosave_seconds.setter
    def autosave_seconds(self, value: int) -> None:
        self._set("document/autosave_s", int(value))

    # ---------------------------------------------------------- documents
    def recent_files(self) -> list[str]:
        value = self.qsettings.value("document/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        p = str(Path(path).resolve())
        items = [r for r in self.recent_files() if r != p]
        items.insert(0, p)
        self._set("document/recent", items[:MAX_RECENT])

    def clear_recent(self) -> None:
        self._set("document/recent", [])

    # ------------------------------------------------------------- layout
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        return (geometry if isinstance(geometry, QByteArray) else None,
                state if isinstance(state, QByteArray) else None)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)
