"""Where Soul Studio keeps its settings files (the model registry among them).

One :class:`StudioPaths` object is passed to whoever needs it; nothing is global. The
folder is platformdirs' user config dir, or ``SOUL_STUDIO_CONFIG_DIR`` when set (tests,
portable installs). Recovery files that cannot be written beside their project (its
folder is read-only) go to the user data dir, or ``SOUL_STUDIO_DATA_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

CONFIG_ENV = "SOUL_STUDIO_CONFIG_DIR"
DATA_ENV = "SOUL_STUDIO_DATA_DIR"
APP_NAME = "soul-studio"


@dataclass(frozen=True)
class StudioPaths:
    """The user's settings folder and the files in it."""

    config_dir: Path
    data_dir: Path | None = None

    @classmethod
    def default(cls, environ: dict[str, str] | None = None) -> StudioPaths:
        env = os.environ if environ is None else environ
        override, data = env.get(CONFIG_ENV), env.get(DATA_ENV)
        config = Path(override).expanduser() if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
        return cls(config, Path(data).expanduser() if data else None)

    @property
    def recovery_dir(self) -> Path:
        """Where a project's unsaved state goes when its own folder cannot be written."""
        data = self.data_dir or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        return data / "recovered"

    @property
    def models_file(self) -> Path:
        return self.config_dir / "models.json"
