"""What every model-folder check does with a safetensors header: count it, and hold it
against the model its config describes.

The soul, InfiniteTalk and light-VAE checks build their model on torch's ``meta``
device (names and shapes, no memory) and compare tensor by tensor with the headers;
:func:`meta_state` and :func:`compare_shapes` are that step, written once so the three
report problems the same way. :func:`tally` counts a header's parameters by dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


def tally(header: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Parameters per dtype in a safetensors header (``{"F16": 1234, ...}``)."""
    counts: dict[str, int] = {}
    for info in header.values():
        n = 1
        for s in info.get("shape", ()):
            n *= int(s)
        dtype = str(info.get("dtype", "?"))
        counts[dtype] = counts.get(dtype, 0) + n
    return counts


def meta_state(build: Callable[[], Any]) -> tuple[dict[str, Shape], list[set[str]]]:
    """Build a model on the meta device: tensor name → shape, and the groups of names tied to one tensor.

    Whatever ``build`` raises (a config the class rejects) reaches the caller, which
    reports it as a folder problem.
    """
    import torch

    with torch.device("meta"):
        model = build()
    shapes: dict[str, Shape] = {}
    groups: dict[int, set[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        shapes[name] = tuple(tensor.shape)
        groups.setdefault(id(tensor), set()).add(name)
    return shapes, list(groups.values())


@dataclass
class ShapeCheck:
    """Problems found comparing a checkpoint with its model: ``errors`` block loading, ``unexpected`` do not."""

    errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def warnings(self, weights: str) -> list[str]:
        """One line per tensor the model has no place for."""
        return [f"{weights} holds unexpected tensor {name}; it will be ignored" for name in self.unexpected]


def compare_shapes(found: Mapping[str, Shape], expected: Mapping[str, Shape], *, weights: str, config: str,
                   groups: Iterable[set[str]] | None = None, ignore: tuple[str, ...] = ()) -> ShapeCheck:
    """Every tensor ``expected`` needs is in ``found`` with its shape; names ending in ``ignore`` may be absent.

    ``groups`` are names tied to one tensor (any one of them present is enough);
    ``weights`` and ``config`` name the files in the messages.
    """
    check = ShapeCheck()
    for group in groups if groups is not None else ({name} for name in expected):
        if group & found.keys():
            continue
        name = sorted(group)[0]
        if not name.endswith(ignore):
            check.errors.append(f"{weights} lacks tensor {name} (shape {list(expected[name])}) that {config} requires")
    for name, shape in found.items():
        if name not in expected:
            if not name.endswith(ignore):
                check.unexpected.append(name)
        elif tuple(expected[name]) != tuple(shape):
            check.errors.append(f"{weights} tensor {name} has shape {list(shape)} but {config} implies "
                                f"{list(expected[name])}")
    return check
