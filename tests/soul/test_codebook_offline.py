"""Offline codebook: streaming k-means over clips, face/background regions, replace and clamp rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.backends.soul.codebook import BACKGROUND, FACE, Codebook, CodebookConfig
from engine.backends.soul.kmeans import StreamingKMeans, unit


def test_streaming_kmeans_finds_the_clusters_batch_by_batch():
    g = torch.Generator().manual_seed(0)
    centres = unit(torch.randn(6, 16, generator=g)) * 3.0
    km = StreamingKMeans(6, 16)
    for _ in range(12):  # the pool never sits in memory at once
        labels = torch.randint(0, 6, (256,), generator=g)
        km.partial_fit(centres[labels] + 0.05 * torch.randn(256, 16, generator=g))
    found = km.result()
    assert found.shape == (6, 16) and km.seen == 12 * 256
    cos = unit(found) @ unit(centres).T
    assert cos.max(dim=0).values.min() > 0.99  # every true cluster has a centroid on it
    assert torch.allclose(found.norm(dim=-1), torch.full((6,), 3.0), atol=0.05)


def _book(rule: str, threshold: float = 0.1, regions=None) -> Codebook:
    entries = torch.eye(4) * 2.0
    return Codebook(entries, CodebookConfig(size=4, threshold=threshold, rule=rule), regions)


def test_clamp_pulls_drift_back_to_the_threshold_and_keeps_norm():
    z = torch.zeros(4, 1, 1, 2)
    z[:, 0, 0, 0] = torch.tensor([1.0, 0.05, 0.0, 0.0])  # within threshold: untouched
    z[:, 0, 0, 1] = torch.tensor([3.0, 2.0, 0.0, 0.0])  # drift ≈ 0.17 from entry 0
    hard, rep_hard = _book("replace").correct(z)
    soft, rep_soft = _book("clamp").correct(z)
    assert rep_hard.replaced == rep_soft.replaced == 1
    for out in (hard, soft):
        assert torch.equal(out[:, 0, 0, 0], z[:, 0, 0, 0])
    assert torch.equal(hard[:, 0, 0, 1], torch.tensor([2.0, 0.0, 0.0, 0.0]))
    kept = soft[:, 0, 0, 1]
    assert torch.allclose(kept.norm(), z[:, 0, 0, 1].norm(), atol=1e-5)
    assert float(_book("clamp").drift(soft)[0, 0, 1]) == pytest.approx(0.1, abs=1e-4)
    assert kept[1] > 0  # on the arc between the token and the entry, not on the entry


def test_position_aware_matching_uses_the_tokens_region():
    regions = torch.tensor([FACE, FACE, BACKGROUND, BACKGROUND])
    book = _book("replace", threshold=0.05, regions=regions)
    z = torch.zeros(4, 1, 2, 2)
    z[2, 0, :, :] = 1.0  # every token looks like background entry 2
    box = (0.0, 0.0, 0.5, 0.5)  # the top-left token is face
    out, report = book.correct(z, box)
    assert report.replaced == 1  # only the face token is off its own region's entries
    assert out[:, 0, 0, 0].argmax() in (0, 1) and torch.equal(out[:, 0, 1, 1], z[:, 0, 1, 1])
    same, none = book.correct(z)  # no face known: everything is background
    assert none.replaced == 0 and same is z


def test_save_and_load_round_trip(tmp_path):
    book = _book("clamp", regions=torch.tensor([FACE, BACKGROUND, BACKGROUND, FACE]))
    book.save(tmp_path / "codebook", {"clips": 3})
    meta = json.loads((tmp_path / "codebook" / "codebook.json").read_text())
    assert meta["entries"] == 4 and meta["face_entries"] == 2 and meta["clips"] == 3 and meta["rule"] == "clamp"
    loaded = Codebook.load(tmp_path / "codebook")
    assert torch.equal(loaded.entries, book.entries) and torch.equal(loaded.regions, book.regions)
    assert loaded.config.rule == "clamp"
    preset = Codebook.load(tmp_path / "codebook", CodebookConfig(threshold=0.4, rule="replace"))
    assert preset.config.threshold == 0.4 and preset.config.rule == "replace"  # the preset decides


def _astronaut_clip(path, frames: int = 13, size: int = 128) -> None:
    from skimage import data

    from engine.media import VideoWriter, fit_image

    img = data.astronaut()
    with VideoWriter(path, 24.0, size, size) as writer:
        for k in range(frames):
            writer.write(fit_image(img[0 + k : 300 + k, 80 + 2 * k : 380 + 2 * k], size, size))


def test_cli_builds_a_position_aware_codebook_from_clips(soul_copy, tmp_path):
    from engine.backends.soul.train import codebook as CB

    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(2):
        _astronaut_clip(clips / f"take{i}.mp4")
    (clips / "notes.txt").write_text("not a clip")
    assert CB.main([str(clips), "--model", str(soul_copy), "--size", "12", "--frames", "9",
                    "--resolution", "128x128", "--windows-per-clip", "2", "--rule", "clamp", "--device", "cpu"]) == 0
    meta = json.loads((soul_copy / "codebook" / "codebook.json").read_text())
    assert meta["clips"] == 2 and meta["windows"] == 4 and meta["windows_with_face"] == 4
    assert meta["entries"] == 12 and 0 < meta["face_entries"] < 12 and meta["channels"] == 16
    assert meta["rule"] == "clamp" and meta["tokens_seen"] == 4 * 3 * 8 * 8
    with pytest.raises(FileNotFoundError):
        CB.find_clips(tmp_path / "missing")


def test_long_form_uses_the_offline_codebook_with_the_face_region(tmp_path):
    from engine.backends.soul.longform import generate_long, plan_chunks
    from tests.soul.test_longform import SHIFT, FakeGenerator, ListSink

    class Drifting(FakeGenerator):
        def generate_chunk(self, request):
            result = super().generate_chunk(request)
            result.latents[:, :, -2:] += SHIFT
            return result

    gray = unit(torch.ones(1, 3)) * 0.5
    book = Codebook(torch.cat([gray, -gray]), CodebookConfig(size=2), torch.tensor([FACE, BACKGROUND]))
    book.save(tmp_path / "codebook")
    gen = Drifting()
    plan = plan_chunks(49, window=25, motion_latents=2)
    result = generate_long(gen, plan, np.zeros(49 * 700, np.float32), np.full((16, 16, 3), 150, np.uint8), ListSink(),
                           codebook=CodebookConfig(threshold=0.05), face_box=(0.0, 0.0, 0.5, 0.5),
                           codebook_folder=str(tmp_path / "codebook"))
    assert result.codebook["entries"] == 2 and result.codebook["face_entries"] == 1
    assert result.codebook_replacements[0] == 2 * 4 * 4  # every drifted motion token, both regions
    cond = gen.requests[1].cond_latents[0, :, 1:]  # C, 2, 4, 4
    assert torch.allclose(cond[:, :, 0, 0], gray[0][:, None].expand(3, 2))  # face tokens -> the face entry
    assert torch.allclose(cond[:, :, 3, 3], -gray[0][:, None].expand(3, 2))  # background -> background entry
