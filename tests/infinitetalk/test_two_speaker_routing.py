"""Each voice reaches its own face: speaker boxes from the detector, through the backend's routing and audio attention.

The two-shot is a real photograph (the astronaut and her mirror image side by side). The
boxes come from the face detector; the masks, the reference attention map, the token
positions and the audio cross-attention are the backend's own. The attention weights are
chosen so that only the routing decides who is heard: every audio key is the same vector,
speaker 1's values are +1 and speaker 2's are -1, so the sign of a token's output says
which voice it listens to.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

routing = pytest.importorskip("engine.backends.infinitetalk.routing")
adapter = pytest.importorskip("engine.backends.infinitetalk.adapter")

WIDTH, HEIGHT = 832, 480
TOKENS_HW = (HEIGHT // 16, WIDTH // 16)
FRAMES = 2


@pytest.fixture(scope="module")
def two_shot() -> np.ndarray:
    from skimage import data

    face = data.astronaut()
    return np.concatenate([face, face[:, ::-1]], axis=1).copy()


def _listening_attention(dim: int = 64, heads: int = 2, cross: int = 8) -> torch.nn.Module:
    attn = adapter.AudioCrossAttention(dim, cross, heads, eps=1e-6)
    c = torch.full((dim,), 3.0)
    with torch.no_grad():
        attn.to_q.weight.zero_()
        attn.to_q.bias.copy_(c)  # every video token asks the same question...
        attn.to_kv.weight.zero_()
        attn.to_kv.bias.zero_()
        attn.to_kv.bias[:dim].copy_(c)  # ...every audio key is the same: only the rotary positions differ
        attn.to_kv.weight[dim:, 0] = 1.0  # values carry the audio feature 0 (+1 speaker 1, -1 speaker 2)
        attn.to_out.weight.copy_(torch.eye(dim))
        attn.to_out.bias.zero_()
    return attn


def test_left_voice_reaches_the_left_face_and_right_voice_the_right(two_shot):
    from engine.backends.infinitetalk.speakers import place_speakers
    from engine.backends.sketch.face import detect_faces

    placed = place_speakers(two_shot)
    assert placed.source == "detected"
    src_h, src_w = two_shot.shape[:2]
    masks = routing.masks_from_boxes(placed.boxes, src_w, src_h, WIDTH, HEIGHT)
    tok = routing.latent_masks(masks, (HEIGHT // 8, WIDTH // 8), TOKENS_HW)  # (3, R)
    ref = tok.shape[1]

    # Reference map: each token looks at the portrait tokens at its own place (a stand-in for the DiT's
    # self-attention, which does the same for a still subject).
    gen = torch.Generator().manual_seed(0)
    heads, head_dim = 2, 32
    place = torch.nn.functional.normalize(torch.randn(ref, heads, head_dim, generator=gen), dim=-1) * 12
    key = place.repeat(FRAMES, 1, 1)[None]
    query = key.clone()
    amap = routing.reference_attention_map(query, key, tok, ref_tokens=ref)
    positions = routing.token_positions(amap)  # (1, FRAMES·R)

    audio = torch.zeros(1, FRAMES, 8, 8)
    audio[:, :, :4, 0] = 1.0  # speaker 1's four audio tokens
    audio[:, :, 4:, 0] = -1.0  # speaker 2's
    with torch.no_grad():
        out = _listening_attention()(torch.zeros(1, FRAMES * ref, 64), audio, FRAMES, query_positions=positions,
                                     speakers=2)
    heard = out[0, :, 0].reshape(FRAMES, *TOKENS_HW)  # > 0: hears speaker 1 (left), < 0: speaker 2

    # crop the render the way the portrait is cropped, then find each face's token
    scale = max(HEIGHT / src_h, WIDTH / src_w)
    left_crop = (np.ceil(src_w * scale) - WIDTH) / 2
    top_crop = (np.ceil(src_h * scale) - HEIGHT) / 2
    faces = sorted(detect_faces(two_shot), key=lambda b: b.cx)[:2]
    for face, sign in zip(faces, (1, -1)):
        ty = int((face.cy * scale - top_crop) / 16)
        tx = int((face.cx * scale - left_crop) / 16)
        for frame in range(FRAMES):
            assert float(heard[frame, ty, tx]) * sign > 0.5, (frame, ty, tx, float(heard[frame, ty, tx]))
    inside = [tok[i].reshape(TOKENS_HW).bool() for i in range(2)]
    assert (heard[0][inside[0]] > 0).float().mean() > 0.95  # the whole left box hears the left voice
    assert (heard[0][inside[1]] < 0).float().mean() > 0.95


def test_without_routing_both_faces_hear_both_voices(two_shot):
    attn = _listening_attention()
    audio = torch.zeros(1, 1, 8, 8)
    audio[:, :, :4, 0], audio[:, :, 4:, 0] = 1.0, -1.0
    with torch.no_grad():
        out = attn(torch.zeros(1, 10, 64), audio, 1)  # no positions: a plain average of the two voices
    assert float(out[0, :, 0].abs().max()) < 1e-5
