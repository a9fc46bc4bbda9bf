"""The draft LoRA on the real InfiniteTalk pipeline (tiny random weights): it changes the picture while
attached, the pipeline renders exactly the base picture again after, and the backend finds the file
where ``hf download`` puts it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

backend_module = pytest.importorskip("engine.backends.infinitetalk.backend")

W, H = 64, 48


def _render(pipe, image: np.ndarray, speech: np.ndarray) -> np.ndarray:
    return pipe(image=image, prompt="a woman speaking to the camera", audio=[speech], num_frames=5, width=W,
                height=H, num_inference_steps=2, guidance_text=1.0, guidance_audio=2.0, shift=2.0,
                generator=torch.Generator().manual_seed(3))


def test_draft_lora_changes_the_render_and_leaves_the_pipeline_as_it_was(pipe, astronaut, tmp_path):
    from engine.backends.infinitetalk.lora import PUBLISHED_LORA_NAME, DraftLoRACache, draft_lora
    from engine.backends.infinitetalk.lora_testing import write_tiny_lora

    path = write_tiny_lora(tmp_path / "loras" / "Lightx2v" / PUBLISHED_LORA_NAME, pipe.transformer, rank=4, seed=2)
    speech = np.sin(np.linspace(0, 300, 16_000 // 4)).astype(np.float32) * 0.3
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}
    base = _render(pipe, astronaut, speech)
    cache = DraftLoRACache()
    with draft_lora(pipe, path, cache=cache) as info:
        drafted = _render(pipe, astronaut, speech)
    assert info["lora_layers"] > 0 and info["lora_rank"] == 4
    assert np.abs(drafted.astype(int) - base.astype(int)).mean() > 0.5
    assert np.array_equal(_render(pipe, astronaut, speech), base)
    assert all(torch.equal(v, before[k]) for k, v in pipe.transformer.state_dict().items())
    assert cache.get(path) is cache.get(path)  # the next draft reuses the converted factors


def test_backend_finds_the_lora_where_hf_download_puts_it(tmp_path):
    from engine.backends.infinitetalk.lora import PUBLISHED_LORA_NAME

    target = tmp_path / "loras" / "Lightx2v" / PUBLISHED_LORA_NAME
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    assert backend_module.draft_lora_path(str(tmp_path), {}) == str(target)
