"""Where Soul Studio keeps its settings files (the model registry among them).

One :class:`StudioPaths` object is passed to whoever needs it; nothing is global. The
folder is platformdirs' user config dir, or ``SOUL_STUDIO_CONFIG_DIR`` when set (tests,
portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

CONFIG_ENV = "SOUL_STUDIO_CONFIG_DIR"
APP_NAME = "soul-studio"


@dataclass(frozen=True)
class StudioPaths:
    """The user's settings folder and the files in it."""

    config_dir: Path

    @classmethod
    def default(cls, environ: dict[str, str] | None = None) -> StudioPaths:
        env = os.environ if environ is None else environ
        override = env.get(CONFIG_ENV)
        if override:
            return cls(Path(override).expanduser())
        return cls(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))

    @property
    def models_file(self) -> Path:
        return self.config_dir / "models.json"
