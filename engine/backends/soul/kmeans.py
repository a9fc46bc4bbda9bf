"""Spherical k-means for codebooks: one-shot on a few tokens, or streaming over a latent pool.

The Soul codebook holds up to ~40K centroids of training-video latent tokens. The pool is
far too large to cluster in one piece, so :class:`StreamingKMeans` runs mini-batch
k-means (Sculley 2010) on unit vectors: every centre keeps a count, a batch's tokens pull
their nearest centre by ``1/count``, and each centre keeps the mean norm of its members so
a replacement has a plausible magnitude. Assignment is chunked, so 40K centres never need
a (batch × 40K) similarity matrix at once.
"""

from __future__ import annotations

import torch


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def farthest_points(tokens: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` tokens spread out in angle, starting from the one nearest the mean."""
    u = unit(tokens)
    first = int(torch.argmax(u @ unit(u.mean(0, keepdim=True)).squeeze(0)))
    chosen = [first]
    nearest = 1.0 - u @ u[first]
    for _ in range(1, k):
        nxt = int(torch.argmax(nearest))
        chosen.append(nxt)
        nearest = torch.minimum(nearest, 1.0 - u @ u[nxt])
    return torch.tensor(chosen, dtype=torch.long)


def nearest_centre(tokens: torch.Tensor, centres_unit: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """(cosine similarity, index) of each token's nearest unit centre, ``chunk`` tokens at a time."""
    sims, index = [], []
    u = unit(tokens)
    for start in range(0, len(u), chunk):
        s, i = (u[start : start + chunk] @ centres_unit.T).max(dim=1)
        sims.append(s)
        index.append(i)
    return torch.cat(sims), torch.cat(index)


def spherical_kmeans(tokens: torch.Tensor, k: int, iterations: int = 8) -> torch.Tensor:
    """``k`` centroids by cosine k-means; each keeps the mean norm of its members."""
    u = unit(tokens)
    norms = tokens.norm(dim=-1)
    centres = u[farthest_points(tokens, k)].clone()
    assign = torch.zeros(len(tokens), dtype=torch.long)
    for _ in range(iterations):
        assign = torch.argmax(u @ centres.T, dim=1)
        summed = torch.zeros_like(centres).index_add_(0, assign, u)
        empty = summed.norm(dim=-1) < 1e-8
        centres = torch.where(empty[:, None], centres, unit(summed))
    counts = torch.bincount(assign, minlength=k).clamp_min(1).to(tokens.dtype)
    mean_norm = torch.zeros(k, dtype=tokens.dtype).index_add_(0, assign, norms) / counts
    mean_norm = torch.where(mean_norm > 0, mean_norm, norms.mean())
    return centres * mean_norm[:, None]


class StreamingKMeans:
    """Mini-batch spherical k-means over a stream of token batches (``N×C``)."""

    def __init__(self, k: int, channels: int, device: torch.device | str = "cpu") -> None:
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k, self.channels = int(k), int(channels)
        self.device = torch.device(device)
        self.centres: torch.Tensor | None = None  # unit vectors, K×C
        self.counts = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        self.norm_sum = torch.zeros(self.k, dtype=torch.float64, device=self.device)
        self._buffer: list[torch.Tensor] = []
        self.seen = 0

    def partial_fit(self, tokens: torch.Tensor) -> None:
        """Take one batch; the first ``k`` tokens (or more) seed the centres by farthest points."""
        tokens = tokens.detach().float().to(self.device)
        tokens = tokens[tokens.norm(dim=-1) > 1e-8]
        if len(tokens) == 0:
            return
        self.seen += len(tokens)
        if self.centres is None:
            self._buffer.append(tokens)
            pool = torch.cat(self._buffer)
            if len(pool) < self.k:
                return
            self._buffer = []
            self.centres = unit(pool[farthest_points(pool, self.k).to(pool.device)])
            tokens = pool
        _, index = nearest_centre(tokens, self.centres)
        u = unit(tokens)
        batch_counts = torch.bincount(index, minlength=self.k).double()
        summed = torch.zeros_like(self.centres).index_add_(0, index, u)
        self.counts += batch_counts
        self.norm_sum.index_add_(0, index, tokens.norm(dim=-1).double())
        hit = batch_counts > 0
        # c ← c + (n_b / n) · (mean_b − c): the per-sample 1/count rule applied to a batch at once
        rate = (batch_counts / self.counts.clamp_min(1.0)).float()[:, None]
        mean_b = summed / batch_counts.clamp_min(1.0).float()[:, None]
        moved = unit(self.centres + rate * (mean_b - self.centres))
        self.centres = torch.where(hit[:, None], moved, self.centres)

    def result(self) -> torch.Tensor:
        """Centroids (K×C) at their members' mean norm; fewer than K when the stream was short."""
        if self.centres is None:
            if not self._buffer:
                raise ValueError("no tokens were seen")
            pool = torch.cat(self._buffer)
            return spherical_kmeans(pool.cpu(), min(self.k, len(pool)))
        used = self.counts > 0
        norms = (self.norm_sum[used] / self.counts[used]).float()
        return (self.centres[used] * norms[:, None]).cpu()
