"""Small pieces shared by the training scripts: safe loading, devices, loss logs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch


def pick_device(name: str | None = None) -> torch.device:
    """``name`` if given, else CUDA when present, else CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def component_folder(path: str | os.PathLike[str], component: str) -> Path:
    """``path`` itself when it holds a config.json, else its ``component`` subfolder (model root given)."""
    root = Path(path)
    if (root / "config.json").is_file():
        return root
    if (root / component / "config.json").is_file():
        return root / component
    raise FileNotFoundError(f"{root} holds neither config.json nor {component}/config.json")


def refuse_pickles(folder: str | os.PathLike[str]) -> None:
    """Raise when ``folder`` holds pickled weights, which can run code when loaded."""
    from engine.backends.soul.errors import ModelFolderError
    from engine.backends.soul.folder import find_pickles

    found = find_pickles(folder)
    if found:
        raise ModelFolderError(
            f"{folder} holds pickled weights ({', '.join(found)})",
            hint="convert them to .safetensors; pickles are never loaded",
            problems=found,
        )


def mean_first_last(losses: list[float], n: int = 5) -> tuple[float, float]:
    """Average of the first and of the last ``n`` losses (how a short run is judged)."""
    n = max(1, min(n, len(losses) // 2 or 1))
    return sum(losses[:n]) / n, sum(losses[-n:]) / n


def write_log(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write a JSON training log next to the saved weights."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True))
