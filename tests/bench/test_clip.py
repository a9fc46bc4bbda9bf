"""CLIP text alignment through the real loading code, with a tiny random CLIP saved to disk."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media import read_frames
from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import CLIP_FRAMES, evaluate_take, read_sidecar
from soul_studio.bench.models import Models
from tests.bench.tiny_models import save_tiny_clip


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory: pytest.TempPathFactory):
    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def _reference_score(folder, frames: list[np.ndarray], text: str) -> float:
    """The CLIP score computed here from the saved files, without the bench's scorer."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(str(folder)).eval()
    proc = CLIPProcessor.from_pretrained(str(folder))
    with torch.no_grad():
        img = model.get_image_features(**proc(images=frames, return_tensors="pt"))
        txt = model.get_text_features(**proc(text=[text], return_tensors="pt"))
    img = getattr(img, "pooler_output", img)
    txt = getattr(txt, "pooler_output", txt)
    cos = torch.nn.functional.cosine_similarity(img, txt.expand_as(img), dim=-1).numpy()
    return float(np.mean(100.0 * np.clip(cos, 0, None)))


def test_clip_score_of_a_take_comes_from_the_model(takes, clip_folder):
    models = Models.load(clip=clip_folder)
    scores = evaluate_take(takes["synced"], models=models)
    ta = scores.text_alignment
    prompt = read_sidecar(takes["synced"])["job"]["prompt"]
    assert ta["text"] == prompt and ta["frames"] == CLIP_FRAMES
    assert 0.0 <= ta["clip_score"] <= 100.0
    frames = read_frames(takes["synced"])
    at = np.linspace(0, len(frames) - 1, CLIP_FRAMES).round().astype(int)
    expected = _reference_score(clip_folder, [frames[i] for i in at], prompt)
    assert ta["clip_score"] == pytest.approx(expected, abs=0.01)


def test_clip_scores_differ_between_texts(takes, clip_folder):
    scorer = Models.load(clip=clip_folder).clip
    frames = read_frames(takes["synced"])[::12]
    texts = ["a painted portrait of a person talking", "zzz qqq 123", "an empty grey room", "x"]
    raw = {t: _reference_score(clip_folder, frames, t) for t in texts}
    got = {t: scorer.score(frames, t) for t in texts}
    for t in texts:
        assert got[t] == pytest.approx(raw[t], abs=1e-3)
    assert max(got.values()) > 1.0  # scored above the clamp at 0
    assert len({round(v, 3) for v in got.values()}) == len(texts)  # the text changes the score


def test_pickled_bin_folder_is_refused(clip_folder, tmp_path):
    import shutil

    import torch

    folder = tmp_path / "pickled"
    folder.mkdir()
    shutil.copy(clip_folder / "config.json", folder / "config.json")
    torch.save({"w": torch.zeros(2)}, folder / "pytorch_model.bin")
    with pytest.raises(BenchError) as err:
        Models.load(clip=folder)
    assert "safetensors" in err.value.message and "refused" in err.value.hint


def test_missing_clip_folder_says_so(tmp_path):
    with pytest.raises(BenchError) as err:
        Models.load(clip=tmp_path / "nowhere")
    assert "no CLIP model" in err.value.message and "--clip" in err.value.hint
