"""Placement from a measured VRAM figure, OOM → an error naming the option that fits, and applying it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from engine.backends.infinitetalk.memory import PRESET_SHAPES, preset_plan
from engine.backends.infinitetalk.placement import normalised_options, oom_error, plan_placement
from engine.backends.placement import (
    GIB,
    GpuMemoryError,
    apply_placement,
    decide_placement,
    estimate_peak,
    oom_guard,
)
from tests.infinitetalk.tiny_i2v import tiny_inputs, tiny_transformer


@pytest.mark.parametrize(("card", "mode"), [(23.5, "group_offload"), (47.5, "model_offload"), (79.0, "resident")])
def test_480p_final_fits_each_card_size(card, mode):
    chosen = plan_placement(card, 832, 480, 81, {})
    assert chosen.mode == mode and chosen.fits
    assert chosen.peak_gib <= card
    assert chosen.vae_tiling is False  # tiling only when the decode would not fit otherwise


def test_24gb_card_renders_720p_and_two_speakers_at_480p():
    assert plan_placement(23.5, 1280, 720, 81, {}).fits
    two = plan_placement(23.5, 832, 480, 81, {}, speakers=2)
    assert two.fits and two.mode == "group_offload"
    one = plan_placement(23.5, 832, 480, 81, {})
    assert two.blocks_per_group <= one.blocks_per_group  # routing scores take room: smaller groups


def test_the_order_of_modes_follows_their_peaks():
    plan = preset_plan("480p")
    peaks = [estimate_peak(plan, m)[0] for m in ("resident", "model_offload", "group_offload")]
    assert peaks == sorted(peaks, reverse=True)
    small, big = estimate_peak(plan, "group_offload", blocks_per_group=1)[0], estimate_peak(
        plan, "group_offload", blocks_per_group=8)[0]
    assert small < big
    tiled = estimate_peak(plan, "group_offload", vae_tiling=True)[1]["decode stage"]
    assert tiled < estimate_peak(plan, "group_offload")[1]["decode stage"]


def test_vae_tiling_is_turned_on_when_only_the_decode_does_not_fit():
    from engine.backends.placement import Component, MemoryPlan

    plan = MemoryPlan((Component("transformer", 4 * GIB, "denoise", blocks=4), Component("vae", GIB, "decode")),
                      working={"denoise": 2 * GIB, "decode": 8 * GIB}, decode_tiled=2 * GIB)
    plain = estimate_peak(plan, "resident")[0]
    tiled = estimate_peak(plan, "resident", vae_tiling=True)[0]
    assert tiled < plain
    chosen = decide_placement(plan, int((plain + tiled) / 2 / 0.92))
    assert chosen.mode == "resident" and chosen.vae_tiling
    assert chosen.options() == {"placement": "resident", "vae_tiling": True}


def test_no_gpu_and_pinned_options():
    assert plan_placement(None, 832, 480, 81, {}).mode == "resident"
    assert plan_placement(79.0, 832, 480, 81, {"cpu_offload": True}).mode == "model_offload"
    group = plan_placement(79.0, 832, 480, 81, {"cpu_offload": "group", "vae_tiling": True, "group_blocks": 2})
    assert (group.mode, group.vae_tiling, group.blocks_per_group) == ("group_offload", True, 2)
    assert normalised_options({"cpu_offload": "sequential"})["group_blocks"] == 1
    forced = plan_placement(23.5, 832, 480, 81, {"placement": "resident"})
    assert forced.mode == "resident" and not forced.fits and "nothing fits" in forced.reason


def _oom():
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_oom_while_sampling_names_the_option_that_would_fit():
    plan = preset_plan("480p")
    current = decide_placement(plan, int(79 * GIB))
    assert current.mode == "resident"
    with pytest.raises(GpuMemoryError) as err:
        with oom_guard("sampling window 1", current, plan):
            _oom()
    assert "ran out of memory while sampling window 1" in str(err.value)
    assert "every model resident" in str(err.value)
    assert "placement: model_offload" in err.value.hint
    assert err.value.suggestion["placement"] == "model_offload"
    assert isinstance(err.value.__cause__, torch.OutOfMemoryError)


def test_oom_with_the_lightest_placement_suggests_a_smaller_render():
    plan = preset_plan("720p", speakers=2)
    current = decide_placement(plan, int(8 * GIB))
    assert not current.fits
    with pytest.raises(GpuMemoryError) as err:
        with oom_guard("decoding", current, plan, smaller="render at 480p"):
            raise RuntimeError("CUDA error: out of memory")
    assert "render at 480p" in err.value.hint and "8.0 GB free" in err.value.hint


def test_other_errors_pass_through_the_guard():
    with pytest.raises(RuntimeError, match="shape mismatch"):
        with oom_guard("sampling"):
            raise RuntimeError("shape mismatch")
    with oom_guard("sampling"):
        pass


def test_backend_oom_error_for_a_job():
    err = oom_error(torch.OutOfMemoryError("x"), "loading the transformer", {"placement": "model_offload"},
                    free_vram_gb=23.5)
    assert isinstance(err, GpuMemoryError)
    assert "placement: group_offload" in err.hint
    plain = oom_error(ValueError("bad"), "loading", {})
    assert not isinstance(plain, GpuMemoryError) and "bad" in str(plain)


def test_group_offload_keeps_the_prediction():
    """Applied through diffusers' hooks (CPU to CPU here); the numbers must not change."""
    model = tiny_transformer()
    with torch.no_grad():
        base = model(**tiny_inputs())[0]
    plan = preset_plan("480p")
    placement = decide_placement(plan, int(23.5 * GIB))
    placement.blocks_per_group = 1
    small = torch.nn.Linear(4, 4)
    pipe = SimpleNamespace(components={"transformer": model, "vae": small}, vae=None)
    apply_placement(pipe, placement, "cpu", small_bytes=1024)  # the tiny transformer counts as big here
    assert not hasattr(small, "_diffusers_hook")  # small models stay where they run
    assert any(hasattr(m, "_diffusers_hook") for m in model.modules())
    with torch.no_grad():
        torch.testing.assert_close(model(**tiny_inputs())[0], base)


def test_preset_shapes_are_the_reference_windows():
    assert PRESET_SHAPES["480p"].tokens == 21 * 30 * 52
    assert PRESET_SHAPES["720p"].latent_frames == 21


class OomBackend:
    """The engine's test backend, but its sampling runs out of GPU memory when a job asks for it."""

    @staticmethod
    def make():
        from engine.backends.testing import TestBackend

        class _Oom(TestBackend):
            __test__ = False
            name = "oomtest"

            def render(self, job, sink, ctx):
                if job.options.get("oom"):
                    plan = preset_plan("480p")
                    with oom_guard("sampling window 1", decide_placement(plan, int(79 * GIB)), plan):
                        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
                return super().render(job, sink, ctx)

        return _Oom


def test_worker_reports_the_oom_and_renders_the_next_job(tmp_path, monkeypatch, make_portrait):
    """The same render path as the engine process: an OOM fails one job with the fix, the next one renders."""
    import sys
    import types

    from engine import backends
    from engine.farm_worker import FarmWorker
    from engine.jobs import JobSpec

    module = types.ModuleType("oom_backend_for_test")
    module.Backend = OomBackend.make()
    monkeypatch.setitem(sys.modules, "oom_backend_for_test", module)
    monkeypatch.setitem(backends.BACKENDS, "oomtest", "oom_backend_for_test:Backend")
    portrait = make_portrait("face.png")

    def job(name, **options):
        return JobSpec(shot_id=name, portrait_path=str(portrait), duration=0.5, fps=24.0, width=64, height=64,
                       output_path=str(tmp_path / f"{name}.mp4"), backend="oomtest", options=options).to_dict()

    worker = FarmWorker()
    failed = worker.run(job("a", oom=True))
    assert failed["status"] == "failed" and failed["error_type"] == "GpuMemoryError"
    assert "ran out of memory while sampling window 1" in failed["message"]
    assert "placement: model_offload" in failed["hint"]
    done = worker.run(job("b"))
    assert done["status"] == "done" and (tmp_path / "b.mp4").is_file()
