"""Codebook replacement: drift is measured, bounded, and a stable shot is left alone."""

from __future__ import annotations

import pytest
import torch

from engine.backends.soul.codebook import (
    Codebook,
    CodebookConfig,
    face_tokens,
    farthest_points,
    to_tokens,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

C, H, W = 16, 6, 6


def _clustered_reference(seed: int = 0, clusters: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(clusters, C, generator=g) * 2
    labels = torch.randint(0, clusters, (H * W,), generator=g)
    tokens = centres[labels] + 0.05 * torch.randn(H * W, C, generator=g)
    return tokens.T.reshape(C, 1, H, W), centres


def _motion_from(ref: torch.Tensor, frames: int = 2) -> torch.Tensor:
    return ref.repeat(1, frames, 1, 1).clone()


def test_tokens_roundtrip_layout():
    z = torch.arange(C * 2 * H * W, dtype=torch.float32).reshape(C, 2, H, W)
    tok = to_tokens(z)
    assert tok.shape == (2 * H * W, C)
    assert torch.equal(tok[H * W + W + 2], z[:, 1, 1, 2])
    assert torch.equal(to_tokens(z[None]), tok)
    assert face_tokens(z, (0.5, 0.0, 1.0, 0.5)).shape == (C, 2, H // 2, W // 2)


def test_kmeans_codebook_finds_the_clusters():
    ref, centres = _clustered_reference()
    book = Codebook.build([ref], CodebookConfig(size=6, method="kmeans"))
    assert book.size == 6
    dist, _ = book.nearest(centres)
    assert float(dist.max()) < 0.01  # every true centre has an entry pointing its way


def test_farthest_point_reduction_keeps_real_tokens_spread_out():
    ref, _ = _clustered_reference()
    tokens = to_tokens(ref)
    idx = farthest_points(tokens, 6)
    assert len(set(idx.tolist())) == 6
    book = Codebook.build([ref], CodebookConfig(size=6, method="fps"))
    assert all(any(torch.equal(e, t) for t in tokens) for e in book.entries)
    assert float(book.drift(ref).max()) < 0.05  # one entry per cluster


def test_non_drifting_latents_are_untouched_bit_for_bit():
    ref, _ = _clustered_reference()
    book = Codebook.build([ref], CodebookConfig(size=6, threshold=0.1))
    g = torch.Generator().manual_seed(1)
    motion = _motion_from(ref) + 0.05 * torch.randn(C, 2, H, W, generator=g)
    before = motion.clone()
    out, report = book.correct(motion)
    assert report.replaced == 0 and report.max_drift_before < 0.1
    assert out is motion and torch.equal(out, before)


def test_drifting_sequence_is_pulled_back_over_many_chunks():
    ref, _ = _clustered_reference()
    threshold = 0.15
    book = Codebook.build([ref], CodebookConfig(size=6, threshold=threshold))
    g = torch.Generator().manual_seed(2)
    direction = torch.randn(C, 1, 1, 1, generator=g)  # a systematic colour/identity shift

    def next_chunk(cond: torch.Tensor) -> torch.Tensor:
        # each chunk reproduces its conditioning with a small bias and noise added
        noise = torch.randn(cond.shape, generator=g)
        return cond + 0.12 * direction * cond.norm(dim=0, keepdim=True) / direction.norm() + 0.05 * noise

    free = corrected = _motion_from(ref)
    free_drift, kept_drift, replaced = [], [], []
    for _ in range(40):
        free = next_chunk(free)
        corrected = next_chunk(corrected)
        free_drift.append(float(book.drift(free).mean()))
        corrected, report = book.correct(corrected)
        kept_drift.append(report.max_drift_before)
        replaced.append(report.replaced)
        assert report.max_drift_after <= threshold
    assert free_drift[-1] > 0.3 > free_drift[0]  # without the codebook identity wanders off
    assert max(kept_drift) < 0.3  # with it, drift stays bounded by threshold + one chunk's worth
    assert float(book.drift(corrected).max()) <= threshold
    assert sum(replaced) > 0


def test_replacement_uses_nearest_entry_and_can_keep_norm():
    entries = torch.eye(C)[:4] * 3.0
    book = Codebook(entries, CodebookConfig(threshold=0.1))
    z = torch.zeros(C, 1, 1, 2)
    z[0, 0, 0, 0] = 1.0  # on entry 0: kept
    z[1, 0, 0, 1], z[2, 0, 0, 1] = 1.0, 0.5  # off-axis: nearest is entry 1
    out, report = book.correct(z)
    assert report.replaced == 1
    assert torch.equal(out[:, 0, 0, 0], z[:, 0, 0, 0])
    assert torch.equal(out[:, 0, 0, 1], entries[1])
    kept, _ = Codebook(entries, CodebookConfig(threshold=0.1, keep_norm=True)).correct(z)
    assert torch.allclose(kept[:, 0, 0, 1].norm(), z[:, 0, 0, 1].norm())
    assert kept[1, 0, 0, 1] > 0 and kept[2, 0, 0, 1] == 0


def test_config_checks_and_options():
    with pytest.raises(ValueError):
        CodebookConfig(size=0)
    with pytest.raises(ValueError):
        CodebookConfig(threshold=3.0)
    cfg = CodebookConfig.from_options({"codebook_size": 32, "codebook_threshold": 0.3, "codebook_method": "fps"})
    assert (cfg.size, cfg.threshold, cfg.method) == (32, 0.3, "fps")
    assert cfg.to_dict()["size"] == 32
