"""Bounds on what a job may ask for, checked before anything is allocated.

A project file or a job can say anything; these limits keep a typo (or a hostile file)
from growing the engine to tens of gigabytes: frame size up to 4K DCI, shot length up
to two hours (``SOUL_MAX_SHOT_SECONDS`` changes it), still images up to 80 megapixels
before they are decoded (``SOUL_MAX_IMAGE_PIXELS``). Media paths must be regular files:
a FIFO or a device would block or never end, so they are refused by type before open.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

MAX_SIDE = 4096
MAX_PIXELS = 4096 * 2160  # 4K DCI
DEFAULT_MAX_SHOT_SECONDS = 2 * 3600.0
DEFAULT_MAX_IMAGE_PIXELS = 80_000_000


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def max_shot_seconds() -> float:
    """Longest shot a job may render (seconds)."""
    return _env_number("SOUL_MAX_SHOT_SECONDS", DEFAULT_MAX_SHOT_SECONDS)


def max_image_pixels() -> int:
    """Largest still (width × height) decoded as a portrait."""
    return int(_env_number("SOUL_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def resolution_problem(width: object, height: object) -> str:
    """Why ``width``×``height`` cannot be rendered, or an empty string."""
    if isinstance(width, bool) or isinstance(height, bool) or not isinstance(width, int) or not isinstance(height, int):
        return f"resolution {width!r}x{height!r} must be whole numbers"
    if width < 16 or height < 16 or width % 2 or height % 2:
        return f"resolution {width}x{height} must be even and at least 16x16"
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return f"resolution {width}x{height} is larger than 4K DCI (4096x2160)"
    return ""


def duration_problem(seconds: object, what: str = "duration") -> str:
    """Why a shot of ``seconds`` cannot be rendered, or an empty string."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return f"{what} {seconds!r} is not a finite number of seconds"
    if seconds <= 0:
        return f"{what} must be positive, got {seconds}"
    limit = max_shot_seconds()
    if seconds > limit:
        return f"{what} {seconds:.0f} s is longer than the {limit:.0f} s a shot may last (SOUL_MAX_SHOT_SECONDS)"
    return ""


def special_file_problem(path: str | os.PathLike[str]) -> str:
    """Why ``path`` is not a regular file to read from (stat only, never opened), or ''."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return ""  # missing files get their own message where they are used
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO), not a file; reading it could wait forever"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def require_regular_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """Return ``path`` when it is a regular file (or missing); raise ``ValueError`` otherwise."""
    problem = special_file_problem(path)
    if problem:
        raise ValueError(f"{what} {os.fspath(path)} {problem}")
    return Path(path)
