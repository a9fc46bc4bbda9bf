"""GPU-ready defaults: placement from free VRAM and real sizes, clear out-of-memory errors, 121-frame passes."""

from __future__ import annotations

import pytest
import torch

from engine.backends.placement import GIB, GpuMemoryError, decide_placement
from engine.backends.soul.memory import REFERENCE_PARAMETERS, memory_plan


def test_adapter_counts_at_its_real_size():
    from engine.backends.soul.adapter import SoulAudioAdapter

    with torch.device("meta"):
        adapter = SoulAudioAdapter()
    counted = sum(p.numel() for p in adapter.parameters())
    assert counted == REFERENCE_PARAMETERS["audio_adapter"] > 1_000_000_000
    plan = memory_plan(1280, 704, 121)
    sizes = {c.name: c.bytes for c in plan.components}
    assert sizes["audio_adapter"] == 2 * counted  # bf16


@pytest.mark.parametrize(("free_gib", "mode", "tiling", "blocks"), [
    (140, "resident", False, None),  # an H200: everything resident
    (80, "resident", False, None),
    (33, "resident", True, None),  # resident only if the 121-frame 720p decode is tiled
    (24, "model_offload", False, None),  # a 24 GB card: one model at a time
    (12, "group_offload", False, 8),
    (8, "group_offload", False, 4),
])
def test_final_placement_follows_free_memory(free_gib, mode, tiling, blocks):
    placement = decide_placement(memory_plan(1280, 704, 121), int(free_gib * GIB))
    assert (placement.mode, placement.vae_tiling, placement.blocks_per_group) == (mode, tiling, blocks), (
        placement.reason)
    assert placement.fits


def test_loader_decides_from_the_folders_parameter_counts(tiny_soul_folder):
    from engine.backends.soul.folder import validate_model_folder
    from engine.backends.soul.loader import LoadOptions, decide

    report = validate_model_folder(tiny_soul_folder)
    placement, plan = decide(report, LoadOptions(), torch.device("cuda"), torch.bfloat16, free_bytes=2 * GIB)
    adapter = next(c for c in plan.components if c.name == "audio_adapter")
    assert adapter.bytes == 2 * report.components["audio_adapter"].parameters  # real size, not a guess
    assert placement.mode == "resident"  # tiny weights fit anywhere
    big = report.components["transformer"]
    big.parameters = 60 * 1024**3  # pretend a much larger folder
    placement, _ = decide(report, LoadOptions(), torch.device("cuda"), torch.bfloat16, free_bytes=24 * GIB)
    assert placement.mode == "group_offload"
    pinned, _ = decide(report, LoadOptions(placement="model_offload", vae_tiling=False), torch.device("cuda"),
                       torch.bfloat16, free_bytes=24 * GIB)
    assert pinned.mode == "model_offload" and not pinned.vae_tiling


def test_out_of_memory_moving_the_model_names_the_option(tiny_soul_folder, monkeypatch):
    import engine.backends.placement as placement_module
    from engine.backends.soul.loader import load_soul_pipeline

    def boom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(placement_module, "apply_placement", boom)
    with pytest.raises(GpuMemoryError) as info:
        load_soul_pipeline(tiny_soul_folder)
    assert "moving the soul model to the GPU" in str(info.value)
    assert "placement" in info.value.hint and info.value.suggestion


def test_out_of_memory_while_sampling_names_the_option(trained_soul_folder, make_portrait, make_audio, tmp_path):
    from engine.backends.base import RenderContext
    from engine.backends.soul.backend import SoulBackend
    from tests.soul.test_backend import ListSink, _job

    job = _job(trained_soul_folder, make_portrait(), make_audio(duration=1.0), tmp_path)
    backend = SoulBackend()
    backend.load(job.options, shape=(64, 64, 121))
    assert backend.pipe.soul_placement.mode == "resident"

    def boom(*args, **kwargs):
        raise RuntimeError("CUDA error: out of memory")

    backend.pipe.transformer.forward = boom
    with pytest.raises(GpuMemoryError) as info:
        backend.render(job, ListSink(), RenderContext())
    assert "while sampling" in str(info.value) and "placement: model_offload" in info.value.hint


def test_single_passes_are_capped_at_121_frames(trained_soul_folder, make_portrait, make_audio, tmp_path,
                                               monkeypatch):
    from engine.backends.base import RenderContext
    from engine.backends.soul.backend import MAX_SINGLE_PASS_FRAMES, SoulBackend
    from tests.soul.test_backend import ListSink, _job

    assert MAX_SINGLE_PASS_FRAMES == 121
    seen = {}

    def long_form(self, job, sink, ctx, width, height, max_frames, parts):
        seen.update(frames=job.frame_count, max_frames=max_frames)
        return {"longform": True}

    monkeypatch.setattr(SoulBackend, "_render_long", long_form)
    job = _job(trained_soul_folder, make_portrait(), make_audio(duration=6.0), tmp_path, max_frames=241)
    backend = SoulBackend()
    assert backend.render(job.replace(duration=5.2, fps=25.0), ListSink(), RenderContext()) == {"longform": True}
    assert seen == {"frames": 130, "max_frames": 121}  # asked for 241: capped at the training length
    seen.clear()
    backend.render(job.replace(duration=0.48, fps=25.0), ListSink(), RenderContext())
    assert seen == {}  # 12 frames: one pass


def test_attention_backend_option_and_wan_negative_prompt(tiny_soul_folder):
    from engine.backends.base import BackendError
    from engine.backends.soul.loader import LoadOptions, load_soul_pipeline
    from engine.backends.soul.presets import DEFAULT_NEGATIVE

    assert DEFAULT_NEGATIVE.startswith("色调艳丽，过曝，静态") and "倒着走" in DEFAULT_NEGATIVE
    pipe = load_soul_pipeline(tiny_soul_folder, LoadOptions(attention_backend="_native_math"))
    assert pipe.soul_speed == {"attention_backend": "_native_math"}
    with pytest.raises(BackendError, match="unknown attention backend"):
        load_soul_pipeline(tiny_soul_folder, LoadOptions(attention_backend="warp-drive"))
