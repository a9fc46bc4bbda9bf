"""Threshold-aware codebook replacement: keeps a character's identity over long shots.

Every long-form chunk is conditioned on the motion latents of the previous one, so small
errors compound: after a few minutes the face slowly turns into someone else. The
codebook remembers what the character looked like at the start: the latent tokens of the
portrait and of the first chunk's face region (a *token* is the ``C``-channel vector of
one latent position ``(t, y, x)``).

At each chunk border the conditioning latents are compared with the codebook. The drift
of a token is its **cosine distance to the nearest codebook entry**::

    drift(z) = 1 - max_k  <z, e_k> / (|z| |e_k|)        (0 = on an entry, 2 = opposite)

Tokens whose drift exceeds ``threshold`` are replaced by that nearest entry before the
next chunk sees them; tokens within the threshold are left bit-for-bit untouched, so a
shot that does not drift is not altered at all. The codebook is reduced to ``size``
entries by spherical k-means (seeded by farthest-point sampling) or by farthest-point
sampling alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

Reduction = Literal["kmeans", "fps"]


@dataclass(frozen=True)
class CodebookConfig:
    """How the codebook is built and applied; recorded in the take sidecar."""

    size: int = 256
    threshold: float = 0.2
    method: Reduction = "kmeans"
    iterations: int = 8
    keep_norm: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("codebook size must be at least 1")
        if not 0.0 <= self.threshold <= 2.0:
            raise ValueError("cosine-distance threshold must lie in [0, 2]")
        if self.method not in ("kmeans", "fps"):
            raise ValueError(f"unknown codebook reduction {self.method!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CodebookConfig:
        """Read ``codebook_size``/``codebook_threshold``/``codebook_method`` from job options."""
        return cls(
            size=int(options.get("codebook_size", cls.size)),
            threshold=float(options.get("codebook_threshold", cls.threshold)),
            method=options.get("codebook_method", cls.method),
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


def face_tokens(latents: torch.Tensor, box: tuple[float, float, float, float] | None = None) -> torch.Tensor:
    """The latents inside ``box`` (normalised x0, y0, x1, y1); all of them when ``box`` is None."""
    z = latents[0] if latents.dim() == 5 else latents
    if box is None:
        return z
    h, w = z.shape[-2:]
    x0, y0, x1, y1 = box
    xa, xb = int(x0 * w), max(int(x0 * w) + 1, int(round(x1 * w)))
    ya, yb = int(y0 * h), max(int(y0 * h) + 1, int(round(y1 * h)))
    return z[..., ya:yb, xa:xb]


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def farthest_points(tokens: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` tokens spread out in angle, starting from the one nearest the mean."""
    unit = _unit(tokens)
    first = int(torch.argmax(unit @ _unit(unit.mean(0, keepdim=True)).squeeze(0)))
    chosen = [first]
    nearest = 1.0 - unit @ unit[first]
    for _ in range(1, k):
        nxt = int(torch.argmax(nearest))
        chosen.append(nxt)
        nearest = torch.minimum(nearest, 1.0 - unit @ unit[nxt])
    return torch.tensor(chosen, dtype=torch.long)


def spherical_kmeans(tokens: torch.Tensor, k: int, iterations: int = 8) -> torch.Tensor:
    """``k`` centroids by cosine k-means; each keeps the mean norm of its members."""
    unit = _unit(tokens)
    norms = tokens.norm(dim=-1)
    centres = unit[farthest_points(tokens, k)].clone()
    assign = torch.zeros(len(tokens), dtype=torch.long)
    for _ in range(iterations):
        assign = torch.argmax(unit @ centres.T, dim=1)
        summed = torch.zeros_like(centres).index_add_(0, assign, unit)
        empty = summed.norm(dim=-1) < 1e-8
        centres = torch.where(empty[:, None], centres, _unit(summed))
    counts = torch.bincount(assign, minlength=k).clamp_min(1).to(tokens.dtype)
    mean_norm = torch.zeros(k, dtype=tokens.dtype).index_add_(0, assign, norms) / counts
    mean_norm = torch.where(mean_norm > 0, mean_norm, norms.mean())
    return centres * mean_norm[:, None]


class Codebook:
    """Reference tokens of one character and the replacement rule for drifting ones."""

    def __init__(self, entries: torch.Tensor, config: CodebookConfig) -> None:
        if entries.dim() != 2 or len(entries) == 0:
            raise ValueError("codebook entries must be a non-empty K×C matrix")
        self.entries = entries.float()
        self._unit = _unit(self.entries)
        self.config = config

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

    @property
    def size(self) -> int:
        return int(self.entries.shape[0])

    def nearest(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token cosine distance to the nearest entry, and that entry's index."""
        sim = _unit(tokens.float()) @ self._unit.T
        best, index = sim.max(dim=1)
        return (1.0 - best).clamp_min(0.0), index

    def drift(self, latents: torch.Tensor) -> torch.Tensor:
        """Cosine drift of every token of ``latents``, shaped ``T×h×w``."""
        z = latents[0] if latents.dim() == 5 else latents
        dist, _ = self.nearest(to_tokens(z.detach().cpu()))
        return dist.reshape(z.shape[1:])

    def correct(self, latents: torch.Tensor) -> tuple[torch.Tensor, CorrectionReport]:
        """Replace tokens drifting past the threshold; returns new latents (same shape, device, dtype).

        With no token over the threshold the input tensor itself is returned unchanged.
        """
        batched = latents.dim() == 5
        z = latents[0] if batched else latents
        tokens = to_tokens(z.detach().cpu())
        dist, index = self.nearest(tokens)
        over = dist > self.config.threshold
        count = int(over.sum())
        report = CorrectionReport(
            tokens=len(tokens),
            replaced=count,
            max_drift_before=float(dist.max()),
            mean_drift_before=float(dist.mean()),
            max_drift_after=float(dist.max()),
        )
        if count == 0:
            return latents, report
        new = tokens.clone().float()
        chosen = self.entries[index[over]]
        if self.config.keep_norm:
            chosen = _unit(chosen) * tokens[over].float().norm(dim=-1, keepdim=True)
        new[over] = chosen
        report.max_drift_after = float(self.nearest(new)[0].max())
        c, t, h, w = z.shape
        out = new.to(z.dtype).reshape(t, h, w, c).permute(3, 0, 1, 2).contiguous().to(z.device)
        return (out[None] if batched else out), report

    def state(self) -> dict[str, Any]:
        """Small summary for the take sidecar (the entries themselves stay in memory)."""
        return {"entries": self.size, "channels": int(self.entries.shape[1]), **self.config.to_dict()}
