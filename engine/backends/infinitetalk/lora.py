"""The draft speed path: a lightx2v-style step/CFG distillation LoRA on the Wan2.1 transformer.

The published files (``lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors`` and
its relatives) use the original Wan names (``diffusion_model.blocks.0.self_attn.q.lora_down``,
``…lora_up``, ``…diff_b``, optional ``…alpha``). diffusers' ``WanLoraLoaderMixin.lora_state_dict``
already converts that layout (and the musubi and diffusers ones) to the names of
``WanTransformer3DModel`` (``blocks.0.attn1.to_q.lora_A``/``lora_B``), folding ``alpha/rank``
into the factors; we use that conversion as it is and do not repeat its table.

The factors are then applied by forward hooks on the matching ``nn.Linear`` modules:
``y = linear(x) + scale · (B(A(x)) + b)``. Nothing is merged into the bf16 weights, so
detaching restores the base model bit for bit, a final render after a draft needs no
reload, and the same hooks work under group offload and ``torch.compile``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.backends.base import BackendError

log = logging.getLogger(__name__)

# The guidance the InfiniteTalk/MultiTalk authors recommend with the lightx2v LoRA:
# no text CFG (distilled away), audio CFG 2, 4 steps, flow shift 2, LoRA strength 1.
DRAFT_PRESET: dict[str, Any] = {"steps": 4, "guidance_text": 1.0, "guidance_audio": 2.0, "shift": 2.0,
                                "lora_scale": 1.0}
# Tensors the conversion leaves out on purpose (norm/modulation diffs, zero in the published files).
_IGNORED_SUFFIXES = (".diff", ".diff_m", ".diff_b")


class LoRAError(BackendError):
    """A LoRA file that does not fit the transformer; ``problems`` lists every mismatch."""

    def __init__(self, message: str, hint: str = "", problems: list[str] | None = None) -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])


@dataclass
class LowRankDelta:
    """One module's update: ``up @ down`` (out×r, r×in) and an optional bias delta."""

    down: torch.Tensor | None = None
    up: torch.Tensor | None = None
    bias: torch.Tensor | None = None

    @property
    def rank(self) -> int:
        return 0 if self.down is None else int(self.down.shape[0])

    def to(self, device: torch.device, dtype: torch.dtype) -> LowRankDelta:
        move = (lambda t: None if t is None else t.to(device=device, dtype=dtype))  # noqa: E731
        return LowRankDelta(move(self.down), move(self.up), move(self.bias))

    def apply(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        out = None
        if self.down is not None and self.up is not None:
            out = nn.functional.linear(nn.functional.linear(x, self.down), self.up)
        if self.bias is not None:
            out = self.bias if out is None else out + self.bias
        assert out is not None
        return out * scale


def _read_safetensors(path: Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if path.suffix != ".safetensors":
        raise LoRAError(f"{path.name} is not a .safetensors file",
                        hint="Soul Studio loads LoRA weights from safetensors only (pickles can run code)")
    try:
        return load_file(str(path), device=device)
    except (OSError, ValueError, RuntimeError) as exc:
        raise LoRAError(f"{path} is not a readable safetensors file ({exc})",
                        hint="download the LoRA file again") from exc


def _meta_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors as meta tensors (names, shapes, dtypes), with its few scalars read for real."""
    from engine.backends.soul.folder import read_safetensors_header

    try:
        header = read_safetensors_header(path)
    except (OSError, ValueError) as exc:
        raise LoRAError(f"{path} is not a readable safetensors file ({exc})", hint="download the LoRA file again") from exc
    dtypes = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32, "F64": torch.float64}
    scalars = [name for name, info in header.items() if name.endswith(".alpha")]
    real: dict[str, torch.Tensor] = {}
    if scalars:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            real = {name: handle.get_tensor(name) for name in scalars}
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name in real:
            out[name] = real[name]
            continue
        dtype = dtypes.get(str(info.get("dtype")))
        if dtype is None:
            raise LoRAError(f"{path.name} tensor {name} has dtype {info.get('dtype')}; float tensors only")
        out[name] = torch.empty(tuple(int(s) for s in info.get("shape", ())), dtype=dtype, device="meta")
    return out


def convert_lora_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, LowRankDelta]:
    """Published (or musubi/diffusers) LoRA tensors → one :class:`LowRankDelta` per diffusers module name."""
    from diffusers.loaders.lora_pipeline import WanLoraLoaderMixin

    source = dict(state_dict)
    ignored = [k for k in source if (k.endswith(_IGNORED_SUFFIXES) and ".norm" in k) or k.endswith(".diff_m")]
    nonzero = [k for k in ignored if source[k].device.type != "meta" and bool(source[k].abs().max() > 0)]
    if nonzero:
        log.warning("the LoRA changes %d norm/modulation tensors that are not applied (e.g. %s)",
                    len(nonzero), nonzero[0])
    # diffusers folds alpha only for block layers; fold every alpha into its down factor first.
    for key in [k for k in source if k.endswith(".alpha")]:
        alpha = source.pop(key)
        stem = key[: -len(".alpha")]
        down = next((f"{stem}.{n}.weight" for n in ("lora_down", "lora_A") if f"{stem}.{n}.weight" in source), None)
        if down is not None:
            source[down] = source[down] * (float(alpha) / source[down].shape[0])
    try:
        converted = WanLoraLoaderMixin.lora_state_dict(source)
    except (ValueError, KeyError, IndexError) as exc:
        raise LoRAError(f"the LoRA is not in a known Wan LoRA layout ({exc or type(exc).__name__})",
                        hint="use a LoRA made for Wan2.1-I2V-14B (lightx2v or diffusers layout)") from exc
    deltas: dict[str, LowRankDelta] = {}
    problems = []
    for key, tensor in converted.items():
        name = key.removeprefix("transformer.")
        for part, attr in ((".lora_A.weight", "down"), (".lora_B.weight", "up"), (".lora_B.bias", "bias")):
            if name.endswith(part):
                setattr(deltas.setdefault(name[: -len(part)], LowRankDelta()), attr, tensor)
                break
        else:
            problems.append(f"{key} is not a LoRA factor")
    if problems:
        raise LoRAError("the LoRA holds tensors Soul Studio cannot place", problems=problems,
                        hint="use a LoRA made for Wan2.1-I2V-14B")
    return deltas


def check_deltas(transformer: nn.Module, deltas: Mapping[str, LowRankDelta]) -> list[str]:
    """Every delta must name an ``nn.Linear`` of ``transformer`` with matching shapes; returns the problems."""
    modules = dict(transformer.named_modules())
    problems: list[str] = []
    for name, delta in sorted(deltas.items()):
        module = modules.get(name)
        if not isinstance(module, nn.Linear):
            problems.append(f"{name}: the transformer has no linear layer of this name")
            continue
        if (delta.down is None) != (delta.up is None):
            problems.append(f"{name}: has only one of the two low-rank factors")
        if delta.down is not None and tuple(delta.down.shape[1:]) != (module.in_features,):
            problems.append(f"{name}: down factor {list(delta.down.shape)} does not take {module.in_features} inputs")
        if delta.up is not None and delta.up.shape[0] != module.out_features:
            problems.append(f"{name}: up factor {list(delta.up.shape)} does not give {module.out_features} outputs")
        if delta.up is not None and delta.down is not None and delta.up.shape[1] != delta.down.shape[0]:
            problems.append(f"{name}: factor ranks differ ({delta.down.shape[0]} and {delta.up.shape[1]})")
        if delta.bias is not None and tuple(delta.bias.shape) != (module.out_features,):
            problems.append(f"{name}: bias delta {list(delta.bias.shape)} does not match {module.out_features} outputs")
    return problems


def inspect_lora_file(path: str | os.PathLike[str], transformer_config: Mapping[str, Any]) -> list[str]:
    """Problems of a LoRA file against a transformer config, from headers only (meta device, no weights read)."""
    from diffusers import WanTransformer3DModel

    deltas = convert_lora_state_dict(_meta_state_dict(Path(path)))
    with torch.device("meta"):
        model = WanTransformer3DModel.from_config(dict(transformer_config))
    return check_deltas(model, deltas)


@dataclass
class DraftLoRA:
    """A distillation LoRA attached to a transformer by forward hooks (never merged)."""

    deltas: dict[str, LowRankDelta]
    scale: float = 1.0
    source: str = ""
    _handles: list[Any] = field(default_factory=list, repr=False)
    _placed: dict[tuple[str, str, torch.dtype], LowRankDelta] = field(default_factory=dict, repr=False)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], scale: float = 1.0) -> DraftLoRA:
        """Read and convert a LoRA file (safetensors only)."""
        p = Path(path).expanduser()
        if not p.is_file():
            raise LoRAError(f"the draft LoRA {p} does not exist",
                            hint="register the lightx2v LoRA in Preferences → Models or set draft_lora")
        return cls(convert_lora_state_dict(_read_safetensors(p)), float(scale), str(p))

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    @property
    def rank(self) -> int:
        return max((d.rank for d in self.deltas.values()), default=0)

    def parameters(self) -> int:
        return sum(t.numel() for d in self.deltas.values() for t in (d.down, d.up, d.bias) if t is not None)

    def attach(self, transformer: nn.Module) -> None:
        """Hook every adapted linear layer; raises :class:`LoRAError` listing all mismatches first."""
        if self.attached:
            raise LoRAError("this LoRA is already attached", hint="detach it first")
        problems = check_deltas(transformer, self.deltas)
        if problems:
            raise LoRAError(f"the LoRA does not fit this transformer ({len(problems)} problem(s))",
                            problems=problems, hint="use the LoRA made for Wan2.1-I2V-14B-480P")
        modules = dict(transformer.named_modules())
        for name in self.deltas:
            self._handles.append(modules[name].register_forward_hook(self._hook(name)))

    def detach(self) -> None:
        """Remove every hook; the transformer is exactly as before :meth:`attach`."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._placed.clear()

    def _delta_on(self, name: str, device: torch.device, dtype: torch.dtype) -> LowRankDelta:
        key = (name, str(device), dtype)
        placed = self._placed.get(key)
        if placed is None:
            placed = self._placed[key] = self.deltas[name].to(device, dtype)
        return placed

    def _hook(self, name: str) -> Any:
        def add_delta(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
            x = args[0]
            delta = self._delta_on(name, x.device, x.dtype)
            return output + delta.apply(x, self.scale)

        return add_delta


PUBLISHED_LORA_NAME = "lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors"
LORA_SUBFOLDER = "loras"


def default_draft_lora(model_folder: str | os.PathLike[str] | None, options: Mapping[str, Any]) -> str | None:
    """The draft LoRA a job uses: option ``draft_lora``, else the published file in ``<model_folder>/loras/``.

    ``hf download`` keeps the repository's sub-folder (``loras/Lightx2v/…``), so the search goes
    down the tree; when ``loras/`` holds exactly one safetensors file under another name, that one is used.
    """
    if options.get("draft_lora"):
        return str(Path(str(options["draft_lora"])).expanduser())
    if not model_folder:
        return None
    folder = Path(model_folder).expanduser() / LORA_SUBFOLDER
    found = sorted(folder.rglob("*.safetensors")) if folder.is_dir() else []
    published = [p for p in found if p.name == PUBLISHED_LORA_NAME]
    if published:
        return str(published[0])
    return str(found[0]) if len(found) == 1 else None


class DraftLoRACache:
    """Converted LoRA files by path and modification time, so a session reads each file once."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int], DraftLoRA] = {}

    def get(self, path: str | os.PathLike[str], scale: float = 1.0) -> DraftLoRA:
        p = Path(path).expanduser()
        try:
            key = (str(p.resolve()), p.stat().st_mtime_ns)
        except OSError:
            return DraftLoRA.from_file(p, scale)  # raises the clear missing-file error
        lora = self._items.get(key)
        if lora is None:
            self._items.clear()  # one draft LoRA at a time: the old factors are hundreds of MB
            lora = self._items[key] = DraftLoRA.from_file(p, scale)
        lora.scale = float(scale)
        return lora


@contextmanager
def draft_lora(pipe: Any, path: str | os.PathLike[str] | None, scale: float = 1.0,
               cache: DraftLoRACache | None = None) -> Iterator[dict[str, Any]]:
    """Carry the LoRA on ``pipe.transformer`` inside the block; the base weights are untouched after.

    Yields the sidecar record (file, scale, rank, adapted layers); ``path`` None is a no-op yielding ``{}``.
    """
    if path is None:
        yield {}
        return
    lora = cache.get(path, scale) if cache is not None else DraftLoRA.from_file(path, scale)
    lora.attach(pipe.transformer)
    try:
        yield {"draft_lora": lora.source, "lora_scale": lora.scale, "lora_rank": lora.rank,
               "lora_layers": len(lora.deltas)}
    finally:
        lora.detach()
