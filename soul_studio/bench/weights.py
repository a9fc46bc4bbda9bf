"""Reading a user's weight file into a state dict without running code from it.

``.safetensors`` holds tensors only and is always preferred. Several standard models
(SyncNet v2, the ArcFace backbones) are published only as pickled PyTorch state dicts;
those are read with ``torch.load(weights_only=True)``, whose restricted unpickler
accepts tensors and plain containers and refuses anything that could execute code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from soul_studio.bench.errors import BenchError

PREFIXES = ("__S__.", "module.", "model.", "backbone.")


def read_state_dict(path: str | Path, hint: str) -> dict[str, Any]:
    """Tensors by name from ``path`` with wrapper prefixes stripped; :class:`BenchError` otherwise."""
    p = Path(path)
    if not p.is_file():
        raise BenchError(f"weights not found at {p}", hint)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            state: Any = dict(load_file(str(p)))
        except Exception as exc:  # noqa: BLE001 - any parse failure is the same problem to the user
            raise BenchError(f"{p.name} is not a readable safetensors file ({exc})", hint) from exc
    else:
        import torch

        try:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
            raise BenchError(f"{p.name} holds more than plain weights; refusing to unpickle it ({exc})",
                             "convert it to .safetensors in a trusted environment") from exc
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
    if not isinstance(state, dict):
        raise BenchError(f"{p.name} is not a state dict", hint)
    cleaned: dict[str, Any] = {}
    for key, value in state.items():
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        cleaned[key] = value
    return cleaned


def load_into(net: Any, state: dict[str, Any], name: str, what: str, hint: str) -> None:
    """Copy ``state`` into ``net`` strictly; a missing tensor or a wrong shape is a clear error."""
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    if missing:
        raise BenchError(f"{name} is not {what} weights: {len(missing)} tensors missing (first: {missing[0]})", hint)
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise BenchError(f"{name}: tensor {key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}",
                             hint)
    net.load_state_dict({k: state[k] for k in expected}, strict=True)
    net.eval()
