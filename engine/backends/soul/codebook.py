"""Threshold-aware codebook replacement: keeps a character's identity over long shots.

Every long-form chunk is conditioned on the motion latents of the previous one, so small
errors compound: after a few minutes the face slowly turns into someone else. The
codebook holds what plausible latent tokens look like (a *token* is the ``C``-channel
vector of one latent position ``(t, y, x)``):

* **offline** (as in the Soul paper): K-means centroids (up to 40K) of a pool of
  training-video latents, built by ``python -m engine.backends.soul.train.codebook`` and
  saved in the model folder's ``codebook/``; **position-aware**: every centroid is tagged
  face or background (from a face detector on the clips), and a token is matched only
  against centroids of its own region;
* **on the fly** (no offline codebook installed): the portrait's tokens and the first
  chunk's face region, reduced by spherical k-means.

At each chunk border the conditioning latents are compared with the codebook. The drift
of a token is its **cosine distance to the nearest entry of its region**::

    drift(z) = 1 - max_k  <z, e_k> / (|z| |e_k|)        (0 = on an entry, 2 = opposite)

Tokens whose drift exceeds ``threshold`` are corrected; tokens within it are left
bit-for-bit untouched, so a shot that does not drift is not altered at all. Two rules:

* ``replace`` (hard): the token becomes its nearest entry;
* ``clamp`` (soft): the token is rotated toward its nearest entry just far enough that its
  drift equals the threshold, keeping its own norm.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from engine.backends.soul.kmeans import farthest_points, spherical_kmeans, unit

Reduction = Literal["kmeans", "fps"]
Rule = Literal["replace", "clamp"]
FACE, BACKGROUND = 1, 0
WEIGHTS_FILE = "codebook.safetensors"
CONFIG_FILE = "codebook.json"

__all__ = ["Codebook", "CodebookConfig", "CorrectionReport", "face_tokens", "farthest_points", "region_map",
           "spherical_kmeans", "to_tokens"]


@dataclass(frozen=True)
class CodebookConfig:
    """How the codebook is built and applied; recorded in the take sidecar."""

    size: int = 256
    threshold: float = 0.2
    method: Reduction = "kmeans"
    iterations: int = 8
    keep_norm: bool = False
    seed: int = 0
    rule: Rule = "replace"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("codebook size must be at least 1")
        if not 0.0 <= self.threshold <= 2.0:
            raise ValueError("cosine-distance threshold must lie in [0, 2]")
        if self.method not in ("kmeans", "fps"):
            raise ValueError(f"unknown codebook reduction {self.method!r}")
        if self.rule not in ("replace", "clamp"):
            raise ValueError(f"unknown codebook rule {self.rule!r}; choose replace or clamp")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CodebookConfig:
        """Read ``codebook_size``/``_threshold``/``_method``/``_rule`` from job options."""
        return cls(
            size=int(options.get("codebook_size", cls.size)),
            threshold=float(options.get("codebook_threshold", cls.threshold)),
            method=options.get("codebook_method", cls.method),
            rule=options.get("codebook_rule", cls.rule),
        )


@dataclass
class CorrectionReport:
    """What one border's correction did."""

    tokens: int
    replaced: int
    max_drift_before: float
    mean_drift_before: float
    max_drift_after: float


def to_tokens(latents: torch.Tensor) -> torch.Tensor:
    """``C×T×h×w`` (or ``1×C×T×h×w``) latents → ``(T·h·w)×C`` tokens."""
    z = latents[0] if latents.dim() == 5 else latents
    if z.dim() != 4:
        raise ValueError(f"latents must be C×T×h×w, got shape {tuple(latents.shape)}")
    return z.permute(1, 2, 3, 0).reshape(-1, z.shape[0])


def _box_slices(h: int, w: int, box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    x0, y0, x1, y1 = box
    xa, xb = int(x0 * w), max(int(x0 * w) + 1, int(round(x1 * w)))
    ya, yb = int(y0 * h), max(int(y0 * h) + 1, int(round(y1 * h)))
    return slice(ya, yb), slice(xa, xb)


def face_tokens(latents: torch.Tensor, box: tuple[float, float, float, float] | None = None) -> torch.Tensor:
    """The latents inside ``box`` (normalised x0, y0, x1, y1); all of them when ``box`` is None."""
    z = latents[0] if latents.dim() == 5 else latents
    if box is None:
        return z
    ys, xs = _box_slices(z.shape[-2], z.shape[-1], box)
    return z[..., ys, xs]


def region_map(t: int, h: int, w: int, box: tuple[float, float, float, float] | None) -> torch.Tensor:
    """Per-token region (``FACE`` inside ``box``, else ``BACKGROUND``) in :func:`to_tokens` order."""
    grid = torch.full((t, h, w), BACKGROUND, dtype=torch.long)
    if box is not None:
        ys, xs = _box_slices(h, w, box)
        grid[:, ys, xs] = FACE
    return grid.reshape(-1)


def _rotate_to(u: torch.Tensor, c: torch.Tensor, cos_target: float) -> torch.Tensor:
    """Unit vectors on the great circle from ``c`` to ``u`` at angle ``arccos(cos_target)`` from ``c``."""
    cos_theta = (u * c).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    theta = torch.arccos(cos_theta)
    phi = torch.arccos(torch.tensor(cos_target, dtype=u.dtype).clamp(-1.0, 1.0))
    sin_theta = torch.sin(theta).clamp_min(1e-6)
    return unit((torch.sin(theta - phi) * c + torch.sin(phi) * u) / sin_theta)


class Codebook:
    """Reference tokens (optionally tagged face/background) and the correction rule for drifting ones."""

    def __init__(self, entries: torch.Tensor, config: CodebookConfig, regions: torch.Tensor | None = None) -> None:
        if entries.dim() != 2 or len(entries) == 0:
            raise ValueError("codebook entries must be a non-empty K×C matrix")
        self.entries = entries.float()
        self._unit = unit(self.entries)
        self.config = config
        self.regions = None if regions is None else regions.long().reshape(-1)
        if self.regions is not None and len(self.regions) != len(self.entries):
            raise ValueError("one region tag per codebook entry is needed")

    @classmethod
    def build(cls, sources: list[torch.Tensor], config: CodebookConfig | None = None) -> Codebook:
        """Collect the tokens of ``sources`` (latents ``C×T×h×w``) and reduce them to ``config.size``."""
        config = config or CodebookConfig()
        tokens = torch.cat([to_tokens(s.detach().float().cpu()) for s in sources])
        tokens = tokens[tokens.norm(dim=-1) > 1e-8]
        if len(tokens) == 0:
            raise ValueError("no usable reference tokens (all zero)")
        if len(tokens) > config.size:
            if config.method == "fps":
                tokens = tokens[farthest_points(tokens, config.size)]
            else:
                tokens = spherical_kmeans(tokens, config.size, config.iterations)
        return cls(tokens, config)

    # ------------------------------------------------------------------ files
    def save(self, folder: str | os.PathLike[str], info: dict[str, Any] | None = None) -> Path:
        """Write ``codebook.safetensors`` (entries, regions) and ``codebook.json`` into ``folder``."""
        from safetensors.torch import save_file

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        regions = self.regions if self.regions is not None else torch.full((self.size,), BACKGROUND)
        save_file({"entries": self.entries.contiguous(), "regions": regions.contiguous()}, str(root / WEIGHTS_FILE))
        meta = {"entries": self.size, "channels": int(self.entries.shape[1]),
                "face_entries": int((regions == FACE).sum()), **self.config.to_dict(), **(info or {})}
        (root / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        return root

    @classmethod
    def load(cls, folder: str | os.PathLike[str], config: CodebookConfig | None = None) -> Codebook:
        """An offline codebook from ``folder``; ``config`` (the preset's threshold and rule) wins over the file's."""
        from safetensors.torch import load_file

        root = Path(folder)
        state = load_file(str(root / WEIGHTS_FILE))
        if config is None:
            saved = json.loads((root / CONFIG_FILE).read_text())
            fields = CodebookConfig.__dataclass_fields__
            config = CodebookConfig(**{k: v for k, v in saved.items() if k in fields and k != "size"},
                                    size=int(saved["entries"]))
        return cls(state["entries"], config, state.get("regions"))

    # -------------------------------------------------------------- matching
    @property
    def size(self) -> int:
        return int(self.entries.shape[0])

    def nearest(self, tokens: torch.Tensor, regions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token cosine distance to the nearest entry (of the token's own region), and its index."""
        sim = unit(tokens.float()) @ self._unit.T
        if self.regions is not None and regions is not None:
            allowed = regions[:, None] == self.regions[None, :]
            has_any = allowed.any(dim=1, keepdim=True)  # a region without entries matches them all
            sim = torch.where(allowed | ~has_any, sim, torch.full_like(sim, -2.0))
        best, index = sim.max(dim=1)
        return (1.0 - best).clamp_min(0.0), index

    def _regions_for(self, z: torch.Tensor, box: tuple[float, float, float, float] | None) -> torch.Tensor | None:
        if self.regions is None:
            return None
        return region_map(z.shape[1], z.shape[2], z.shape[3], box)

    def drift(self, latents: torch.Tensor, box: tuple[float, float, float, float] | None = None) -> torch.Tensor:
        """Cosine drift of every token of ``latents``, shaped ``T×h×w``."""
        z = latents[0] if latents.dim() == 5 else latents
        dist, _ = self.nearest(to_tokens(z.detach().cpu()), self._regions_for(z, box))
        return dist.reshape(z.shape[1:])

    def correct(self, latents: torch.Tensor,
                box: tuple[float, float, float, float] | None = None) -> tuple[torch.Tensor, CorrectionReport]:
        """Correct tokens drifting past the threshold; returns new latents (same shape, device, dtype).

        ``box`` (normalised x0, y0, x1, y1) is the face region, for a position-aware codebook.
        With no token over the threshold the input tensor itself is returned unchanged.
        """
        batched = latents.dim() == 5
        z = latents[0] if batched else latents
        tokens = to_tokens(z.detach().cpu())
        regions = self._regions_for(z, box)
        dist, index = self.nearest(tokens, regions)
        over = dist > self.config.threshold
        count = int(over.sum())
        report = CorrectionReport(tokens=len(tokens), replaced=count, max_drift_before=float(dist.max()),
                                  mean_drift_before=float(dist.mean()), max_drift_after=float(dist.max()))
        if count == 0:
            return latents, report
        new = tokens.clone().float()
        chosen = self.entries[index[over]]
        own_norm = tokens[over].float().norm(dim=-1, keepdim=True)
        if self.config.rule == "clamp":
            chosen = _rotate_to(unit(tokens[over].float()), unit(chosen), 1.0 - self.config.threshold) * own_norm
        elif self.config.keep_norm:
            chosen = unit(chosen) * own_norm
        new[over] = chosen
        report.max_drift_after = float(self.nearest(new, regions)[0].max())
        c, t, h, w = z.shape
        out = new.to(z.dtype).reshape(t, h, w, c).permute(3, 0, 1, 2).contiguous().to(z.device)
        return (out[None] if batched else out), report

    def state(self) -> dict[str, Any]:
        """Small summary for the take sidecar (the entries themselves stay in memory)."""
        face = int((self.regions == FACE).sum()) if self.regions is not None else None
        return {"entries": self.size, "channels": int(self.entries.shape[1]), "face_entries": face,
                **self.config.to_dict()}
