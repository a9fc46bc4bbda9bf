"""Two speakers in one frame: which video tokens listen to which voice.

InfiniteTalk's ``multi`` adapter does not mask the audio attention. It places each video
token and each audio token on a 1-D rotary axis, so a token attends mostly to the voice
whose position is near its own:

1. In every block, the self-attention's queries (after RoPE) attend to the keys of the
   first latent frame (the portrait). A token's *reference map* for speaker ``s`` is the
   attention mass it puts on speaker ``s``'s mask, divided by the mask's size and
   averaged over heads; the background mask gives a third row.
2. Each speaker's row is min-max scaled into its own band (speaker 1: [0, 4], speaker 2:
   [20, 24]); the background sits at 12. A token takes the band of its strongest row.
3. Audio tokens of speaker 1 sit at 2, of speaker 2 at 22 (the band centres); a 1-D RoPE
   with those positions rotates the audio queries and keys.

So a token looking at the left face gets a position near 2 and hears the left voice.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CLASS_RANGE = 24
CLASS_INTERVAL = 4
BANDS = ((0.0, float(CLASS_INTERVAL)), (float(CLASS_RANGE - CLASS_INTERVAL), float(CLASS_RANGE)))
BACKGROUND = float(CLASS_RANGE // 2)


def rope_1d(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate ``x`` (..., seq, head_dim) by ``positions`` (seq,) or (batch, seq); pairs are interleaved."""
    d = x.shape[-1]
    freqs = 1.0 / (base ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32)[: d // 2] / d))
    angles = positions.to(x.device, torch.float32)[..., None] * freqs  # (..., seq, d/2)
    angles = angles.repeat_interleave(2, dim=-1)
    if angles.ndim == 3:  # (batch, seq, d) -> broadcast over heads: x is (batch, heads, seq, d)
        angles = angles[:, None]
    cos, sin = angles.cos(), angles.sin()
    xf = x.float()
    pairs = xf.unflatten(-1, (-1, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    return (xf * cos + rotated * sin).type_as(x)


def apply_wan_rotary(x: torch.Tensor, freqs_cos: torch.Tensor, freqs_sin: torch.Tensor) -> torch.Tensor:
    """Diffusers' Wan 3-D RoPE on ``x`` (B, S, heads, head_dim) with the transformer's own tables."""
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    cos = freqs_cos[..., 0::2].float()
    sin = freqs_sin[..., 1::2].float()
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


def reference_attention_map(
    query: torch.Tensor, key: torch.Tensor, masks: torch.Tensor, ref_tokens: int, chunk: int | None = None
) -> torch.Tensor:
    """Per-class attention of every video token to the portrait frame's regions.

    ``query``/``key``: (B, S, heads, head_dim) after RoPE; ``masks``: (classes, ref_tokens)
    float, one row per speaker then the background, over the first latent frame's tokens.
    Returns (B, classes, S): mean over heads of ``sum(attn · mask) / sum(mask)``.
    Computed in float32 in query chunks of at most 2**26 attention weights (256 MB), so
    memory stays bounded at full size (the reference holds the whole map).
    """
    b, s, heads, d = query.shape
    chunk = chunk or max(1, 2**26 // max(1, b * heads * ref_tokens))
    ref_k = key[:, :ref_tokens].float().transpose(1, 2)  # (B, H, R, d)
    weights = masks.to(query.device, torch.float32)
    weights = weights / weights.sum(-1, keepdim=True).clamp_min(1.0)  # (C, R)
    out = torch.empty(b, masks.shape[0], s, device=query.device, dtype=torch.float32)
    scale = d ** -0.5
    for a in range(0, s, chunk):
        q = query[:, a : a + chunk].float().transpose(1, 2) * scale  # (B, H, c, d)
        attn = torch.softmax(q @ ref_k.transpose(-1, -2), dim=-1)  # (B, H, c, R)
        out[:, :, a : a + chunk] = torch.einsum("bhcr,kr->bkc", attn, weights) / heads
    return out


def _scale(row: torch.Tensor, band: tuple[float, float], eps: float = 1e-8) -> torch.Tensor:
    lo, hi = row.min(), row.max()
    return (row - lo) / (hi - lo + eps) * (band[1] - band[0]) + band[0]


def token_positions(attention_map: torch.Tensor) -> torch.Tensor:
    """(B, 3, S) reference map (speaker 1, speaker 2, background) → (B, S) rotary positions."""
    if attention_map.shape[1] != 3:
        raise ValueError(f"two-speaker routing needs 3 map rows (2 speakers + background), got {attention_map.shape[1]}")
    positions = []
    for amap in attention_map:
        candidates = torch.stack(
            [_scale(amap[0], BANDS[0]), _scale(amap[1], BANDS[1]), torch.full_like(amap[0], BACKGROUND)], dim=1
        )  # (S, 3)
        choice = amap.argmax(dim=0)  # (S,)
        positions.append(candidates.gather(1, choice[:, None])[:, 0])
    return torch.stack(positions)


def audio_positions(tokens_per_speaker: int, speakers: int = 2, device: torch.device | None = None) -> torch.Tensor:
    """Rotary positions of the audio tokens: each speaker's tokens at its band centre."""
    centres = [(lo + hi) / 2 for lo, hi in BANDS[:speakers]]
    return torch.tensor(centres, device=device).repeat_interleave(tokens_per_speaker)


def latent_masks(masks: torch.Tensor, latent_hw: tuple[int, int], token_hw: tuple[int, int]) -> torch.Tensor:
    """(classes, H, W) masks at the render size → (classes, tokens) on the first frame's token grid.

    Nearest-neighbour to the VAE latent grid, then again to the patch grid, each followed
    by ``> 0``: the two steps the reference takes (so edge tokens fall the same way).
    """
    lat = (F.interpolate(masks[None].float(), size=latent_hw, mode="nearest")[0] > 0).float()
    tok = F.interpolate(lat[None], size=token_hw, mode="nearest")[0] > 0
    return tok.float().flatten(1)


def masks_from_boxes(boxes: list[list[float]] | list[tuple[float, ...]], src_width: int, src_height: int,
                     width: int, height: int) -> torch.Tensor:
    """Speaker face boxes (normalised x0, y0, x1, y1 on the portrait) → (speakers + 1, height, width).

    As the reference: each box becomes a mask at the portrait's size, the background is
    everything outside every box, then all are scaled to cover the render size
    (nearest) and centre-cropped, the way the portrait itself is.
    """
    masks = torch.zeros(len(boxes) + 1, src_height, src_width)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            raise ValueError(f"speaker box {list(box)} must be normalised x0 < x1, y0 < y1 within [0, 1]")
        masks[i, int(y0 * src_height) : int(round(y1 * src_height)), int(x0 * src_width) : int(round(x1 * src_width))] = 1
    masks[-1] = (masks[:-1].sum(0) == 0).float()
    scale = max(height / src_height, width / src_width)
    h, w = math.ceil(scale * src_height), math.ceil(scale * src_width)
    big = F.interpolate(masks[None], size=(h, w), mode="nearest")[0]
    top, left = int(round((h - height) / 2.0)), int(round((w - width) / 2.0))  # torchvision's centre crop
    return big[:, top : top + height, left : left + width]
