"""Low-rank adapters for the distilled student, in plain PyTorch.

A 5B student saved as full weights is 10 GB; as a rank-64 LoRA on the attention and
feed-forward projections it is a few hundred MB, and it can be merged into the loaded
teacher for a draft and taken out again for a final without reloading anything.

Files: ``student_lora.safetensors`` holds ``<module>.lora_A.weight`` (r×in) and
``<module>.lora_B.weight`` (out×r) for each adapted ``nn.Linear``; ``lora_config.json``
holds the rank, alpha and module names. The update of a module is
``W += (alpha / rank) · B @ A``. Renders apply it unmerged (:class:`LoraHooks`), so the
teacher's weights are never touched.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

LORA_WEIGHTS = "student_lora.safetensors"
LORA_CONFIG = "lora_config.json"
DEFAULT_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "ffn.net.0.proj", "ffn.net.2")


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) · B(A(x))`` with ``base`` frozen and ``B`` starting at zero.

    Besides its own factors (``lora_A``/``lora_B``, the ones saved) it can hold named
    extra adapters on the same frozen base (``extra``): distillation keeps the previous
    round's student and DMD's fake-score critic that way instead of copying the 5B model.
    ``active`` picks which runs: ``"default"``, an extra adapter's name, or None (the base
    alone, i.e. the original teacher).
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.scale = alpha / rank
        self.lora_A = nn.Linear(base.in_features, rank, bias=False, device=base.weight.device, dtype=base.weight.dtype)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False, device=base.weight.device, dtype=base.weight.dtype)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        base.requires_grad_(False)
        self.extra = nn.ModuleDict()
        self.active: str | None = "default"

    def factors(self, name: str) -> tuple[nn.Linear, nn.Linear]:
        if name == "default":
            return self.lora_A, self.lora_B
        a, b = self.extra[name]
        return a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.active is None:
            return out
        a, b = self.factors(self.active)
        return out + (b(a(x.to(a.weight.dtype))) * self.scale).to(out.dtype)

    def delta(self) -> torch.Tensor:
        return (self.lora_B.weight @ self.lora_A.weight) * self.scale


def add_adapter(model: nn.Module, name: str, trainable: bool = False, from_default: bool = True) -> list[nn.Parameter]:
    """A named extra adapter on every LoRA layer (a copy of the default factors, or fresh); returns its parameters."""
    params: list[nn.Parameter] = []
    with torch.no_grad():
        for mod in lora_modules(model).values():
            if name not in mod.extra:
                a = copy.deepcopy(mod.lora_A)
                b = copy.deepcopy(mod.lora_B)
                if not from_default:
                    nn.init.kaiming_uniform_(a.weight, a=math.sqrt(5))
                    nn.init.zeros_(b.weight)
                mod.extra[name] = nn.ModuleList([a, b])
            a, b = mod.extra[name]
            if from_default:
                a.weight.copy_(mod.lora_A.weight)
                b.weight.copy_(mod.lora_B.weight)
            for p in (a.weight, b.weight):
                p.requires_grad_(trainable)
                params.append(p)
    return params


def adapter_parameters(model: nn.Module, name: str = "default") -> list[nn.Parameter]:
    out: list[nn.Parameter] = []
    for mod in lora_modules(model).values():
        a, b = mod.factors(name)
        out += [a.weight, b.weight]
    return out


@contextmanager
def active_adapter(model: nn.Module, name: str | None) -> Iterator[None]:
    """Run ``model`` with adapter ``name`` (None: the frozen base alone) inside the block."""
    mods = list(lora_modules(model).values())
    before = [m.active for m in mods]
    for m in mods:
        m.active = name
    try:
        yield
    finally:
        for m, a in zip(mods, before, strict=True):
            m.active = a


def _matches(name: str, targets: Iterable[str]) -> bool:
    return any(name == t or name.endswith("." + t) for t in targets)


def add_lora(model: nn.Module, rank: int = 16, alpha: float | None = None,
             targets: Iterable[str] = DEFAULT_TARGETS) -> list[str]:
    """Wrap every ``nn.Linear`` of ``model`` whose name ends with a target; freeze the rest."""
    targets = tuple(targets)
    alpha = float(alpha if alpha is not None else rank)
    model.requires_grad_(False)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear) and _matches(n, targets)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha))
    if not names:
        raise ValueError(f"no linear layer matches {targets}")
    return names


def lora_modules(model: nn.Module) -> dict[str, LoRALinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter tensors only, keyed ``<module>.lora_A.weight`` / ``<module>.lora_B.weight``."""
    state = {}
    for name, mod in lora_modules(model).items():
        state[f"{name}.lora_A.weight"] = mod.lora_A.weight.detach().float().cpu().contiguous()
        state[f"{name}.lora_B.weight"] = mod.lora_B.weight.detach().float().cpu().contiguous()
    return state


def save_lora(model: nn.Module, folder: str | os.PathLike[str]) -> Path:
    """Write the adapters of ``model`` as safetensors plus their config."""
    from safetensors.torch import save_file

    mods = lora_modules(model)
    if not mods:
        raise ValueError("the model has no LoRA adapters")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    first = next(iter(mods.values()))
    save_file(lora_state(model), str(root / LORA_WEIGHTS))
    config = {"rank": first.rank, "alpha": first.scale * first.rank, "modules": sorted(mods)}
    (root / LORA_CONFIG).write_text(json.dumps(config, indent=2))
    return root / LORA_WEIGHTS


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight and put the plain ``nn.Linear`` back."""
    with torch.no_grad():
        for name, mod in lora_modules(model).items():
            mod.base.weight += mod.delta().to(mod.base.weight.dtype)
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, mod.base)
    return model


def read_lora(folder: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict]:
    """Adapter tensors and config from a folder written by :func:`save_lora` (safetensors only)."""
    from safetensors.torch import load_file

    root = Path(folder)
    config = json.loads((root / LORA_CONFIG).read_text())
    return load_file(str(root / LORA_WEIGHTS)), config


@torch.no_grad()
def apply_lora_delta(model: nn.Module, folder: str | os.PathLike[str], sign: float = 1.0) -> int:
    """Add (``sign=1``) or remove (``sign=-1``) a saved LoRA in place; returns modules changed.

    Works on the live model, so hooks registered on it (audio injection) stay in place.
    Only for exporting merged weights: in low precision a merge followed by an unmerge
    does not give the original weights back (renders use :class:`LoraHooks`).
    """
    state, config = read_lora(folder)
    scale = float(config["alpha"]) / float(config["rank"])
    changed = 0
    for name in config["modules"]:
        layer = model.get_submodule(name)
        a, b = state[f"{name}.lora_A.weight"], state[f"{name}.lora_B.weight"]
        delta = (b @ a) * scale * sign
        layer.weight += delta.to(device=layer.weight.device, dtype=layer.weight.dtype)
        changed += 1
    return changed


class LoraHooks:
    """A saved LoRA applied *beside* a live model: ``y = base(x) + scale · (x Aᵀ) Bᵀ`` by forward hooks.

    The teacher's weights are never written, so a final rendered after a draft uses
    exactly the same bits as one rendered before it (folding a LoRA into bf16 weights and
    taking it out again does not round-trip: about one weight in ten of the adapted
    layers comes back changed). The factors move to whatever device the layer runs on,
    so the hooks work under CPU or group offload too.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.state, self.config = read_lora(folder)
        self.scale = float(self.config["alpha"]) / float(self.config["rank"])
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._cache: dict[tuple[str, torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

    def _factors(self, name: str, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        key = (name, device, dtype)
        if key not in self._cache:
            a = self.state[f"{name}.lora_A.weight"].to(device=device, dtype=dtype)
            b = self.state[f"{name}.lora_B.weight"].to(device=device, dtype=dtype)
            self._cache[key] = (a, b)
        return self._cache[key]

    def _hook(self, name: str) -> Any:
        def add(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
            x = args[0]
            a, b = self._factors(name, x.device, x.dtype)
            return output + (x @ a.T) @ b.T * self.scale

        return add

    def attach(self, model: nn.Module) -> int:
        """Hook every adapted layer of ``model``; returns how many were hooked."""
        if self._handles:
            raise RuntimeError("these LoRA hooks are already attached")
        for name in self.config["modules"]:
            layer = model.get_submodule(name)
            if not isinstance(layer, nn.Linear):
                raise ValueError(f"LoRA module {name} is not a linear layer of this model")
            self._handles.append(layer.register_forward_hook(self._hook(name)))
        return len(self._handles)

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._cache.clear()
