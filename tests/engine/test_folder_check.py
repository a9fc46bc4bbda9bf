"""The shared model-folder step: a checkpoint's header held against its model built on the meta device."""

from __future__ import annotations

import torch
from safetensors.torch import save_file
from torch import nn

from engine.backends.folder_check import compare_shapes, meta_state, tally
from engine.backends.soul.folder import read_safetensors_header


class Tied(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, width)
        self.head = nn.Linear(width, 5, bias=False)
        self.head.weight = self.embed.weight  # one tensor, two names
        self.norm = nn.LayerNorm(width)


def _header(tmp_path, state):
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, path)
    header = read_safetensors_header(path)
    return header, {k: tuple(v["shape"]) for k, v in header.items()}


def test_a_real_checkpoint_matches_its_meta_model_and_tied_names_count_once(tmp_path):
    expected, groups = meta_state(lambda: Tied())
    assert {"embed.weight", "head.weight"} in groups and expected["norm.bias"] == (8,)
    state = {k: v for k, v in Tied().state_dict().items() if k != "head.weight"}  # saved once, as safetensors does
    header, found = _header(tmp_path, state)
    check = compare_shapes(found, expected, weights="model.safetensors", config="config.json", groups=groups)
    assert check.errors == [] and check.unexpected == []
    assert tally(header) == {"F32": 5 * 8 + 8 + 8}


def test_missing_wrong_shape_unexpected_and_ignored_names(tmp_path):
    expected, groups = meta_state(lambda: Tied())
    state = {"embed.weight": torch.zeros(5, 6), "norm.weight": torch.zeros(8), "extra.scale": torch.zeros(2).half()}
    header, found = _header(tmp_path, state)
    check = compare_shapes(found, expected, weights="w.safetensors", config="config.json", groups=groups)
    assert check.errors == [
        "w.safetensors lacks tensor norm.bias (shape [8]) that config.json requires",
        "w.safetensors tensor embed.weight has shape [5, 6] but config.json implies [5, 8]",
    ]
    assert check.unexpected == ["extra.scale"]
    assert check.warnings("w.safetensors") == ["w.safetensors holds unexpected tensor extra.scale; it will be ignored"]
    assert tally(header) == {"F32": 30 + 8, "F16": 2}
    lenient = compare_shapes(found, expected, weights="w", config="c", groups=groups, ignore=("bias", "scale"))
    assert [e for e in lenient.errors if "lacks" in e] == [] and lenient.unexpected == []
    untied = compare_shapes(found, expected, weights="w", config="c")  # without groups every name is needed
    assert any("lacks tensor head.weight" in e for e in untied.errors)
