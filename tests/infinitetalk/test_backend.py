"""InfiniteTalkBackend: registry, availability, folder checks, and a take written and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.backends import backend_class
from engine.backends.base import BackendError, BackendUnavailable, RenderContext
from engine.backends.infinitetalk.backend import InfiniteTalkBackend
from engine.backends.infinitetalk.folder import installed_adapters, validate_model_folder
from engine.backends.soul.errors import ModelFolderError
from engine.jobs import JobSpec
from engine.media import probe_video, read_frames


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut, speech):
    import imageio.v3 as iio

    from engine.media import AudioClip, write_audio

    folder = tmp_path_factory.mktemp("media")
    iio.imwrite(folder / "astronaut.png", astronaut)
    write_audio(folder / "line.wav", AudioClip(np.concatenate([speech["a"], speech["b"]])[None], 16_000))
    write_audio(folder / "other.wav", AudioClip(speech["b"][None], 16_000))
    return folder


@pytest.fixture(scope="module")
def backend():
    """One backend for the module: it keeps each adapter variant's pipeline warm between renders."""
    made = InfiniteTalkBackend()
    yield made
    made.unload()


def _job(folder, media, tmp_path, fps=23.976, duration=0.8, **options) -> JobSpec:
    opts = {"model_folder": str(folder), "allow_cpu": True, "render_size": [64, 48], "steps": 1,
            "window_frames": 17, "motion_frames": 5, "min_window_frames": 9, "guidance_text": 1.0,
            "guidance_audio": 2.0}
    opts.update(options)
    return JobSpec(shot_id="s1", portrait_path=str(media / "astronaut.png"), duration=duration, fps=fps, width=96,
                   height=72, output_path=str(tmp_path / "take.mp4"), audio_path=str(media / "line.wav"),
                   audio_in=0.3, text="Hello there.", seed=3, quality="final", backend="infinitetalk",
                   options=opts).validate()


def test_registry_and_capabilities(tiny_folder, folder_copy):
    assert backend_class("infinitetalk") is InfiniteTalkBackend
    caps = InfiniteTalkBackend.capabilities()
    assert caps.name == "infinitetalk" and not caps.available and "CUDA" in caps.reason
    ok = InfiniteTalkBackend.capabilities({"model_folder": str(tiny_folder), "allow_cpu": True})
    assert ok.available, ok.reason
    assert ok.extra["adapters"] == ["single", "multi"] and ok.extra["max_speakers"] == 2
    (folder_copy / "infinitetalk" / "multi" / "infinitetalk.safetensors").unlink()
    one = InfiniteTalkBackend.capabilities({"model_folder": str(folder_copy), "allow_cpu": True})
    assert one.available and one.extra["max_speakers"] == 1
    with pytest.raises(BackendUnavailable, match="CUDA"):
        InfiniteTalkBackend().load({"model_folder": str(tiny_folder)})
    with pytest.raises(BackendUnavailable, match="model folder"):
        InfiniteTalkBackend().load({"allow_cpu": True})


def test_folder_validation_names_each_problem(tiny_folder, folder_copy):
    report = validate_model_folder(tiny_folder)
    assert report.ok, report.errors
    assert installed_adapters(report) == ["single", "multi"] and len(report.fingerprint) == 64
    (folder_copy / "image_encoder" / "model.safetensors").unlink()
    (folder_copy / "audio_encoder" / "stray.pt").write_bytes(b"pickle")
    from engine.backends.infinitetalk.testing import reference_adapter_shapes, write_published_adapter

    write_published_adapter(folder_copy / "infinitetalk" / "single" / "infinitetalk.safetensors",
                            reference_adapter_shapes(48, 2, 2, 32, inter=32, cross=16, tokens=4))
    report = validate_model_folder(folder_copy, adapter="single")
    text = "\n".join(report.errors)
    assert "image_encoder/model.safetensors is missing" in text
    assert "stray.pt is a pickle" in text
    assert "single adapter" in text and "q_linear.weight has shape [48, 48], expected [32, 32]" in text
    with pytest.raises(ModelFolderError, match="InfiniteTalk model folder"):
        report.raise_for_errors()


def test_audio_encoder_in_the_published_pretraining_layout_validates_and_loads(tiny_folder, pipe, folder_copy):
    from safetensors.torch import load_file, save_file

    from engine.backends.soul.folder import read_safetensors_header

    names = read_safetensors_header(tiny_folder / "audio_encoder" / "model.safetensors")
    assert any(n.startswith("wav2vec2.") for n in names) and any(n.startswith("quantizer.") for n in names)
    assert any(n.endswith("pos_conv_embed.conv.weight_g") for n in names)
    published = load_file(str(tiny_folder / "audio_encoder" / "model.safetensors"))
    loaded = pipe.audio_encoder.state_dict()
    assert torch.equal(loaded["encoder.layers.1.attention.q_proj.weight"],
                       published["wav2vec2.encoder.layers.1.attention.q_proj.weight"])
    weights = folder_copy / "audio_encoder" / "model.safetensors"
    damaged = load_file(str(weights))
    del damaged["wav2vec2.encoder.layers.0.feed_forward.output_dense.bias"]
    save_file(damaged, str(weights))
    text = "\n".join(validate_model_folder(folder_copy).errors)
    assert "lacks tensor encoder.layers.0.feed_forward.output_dense.bias" in text


def test_render_writes_a_take_at_23976_with_exact_frames(tiny_folder, media, tmp_path, backend):
    from engine.takes import write_take

    job = _job(tiny_folder, media, tmp_path)
    assert job.frame_count == 19
    backend.load(job.options)
    progress, previews = [], []
    ctx = RenderContext(on_progress=lambda p, eta: progress.append(p), on_preview=previews.append,
                        preview_interval_s=0.0)
    result = write_take(backend, job, ctx)
    info = probe_video(job.output_path)
    assert info.frame_count == 19 and (info.width, info.height) == (96, 72)
    frames = np.stack(read_frames(job.output_path))
    assert frames.shape == (19, 72, 96, 3) and frames.std() > 5
    sidecar = json.loads(open(result.sidecar_path).read())
    meta = sidecar.get("backend_meta", sidecar)
    text = json.dumps(meta)
    assert '"backend": "infinitetalk"' in text and '"model_fps": 25' in text
    assert previews and previews[0].dtype == np.uint8
    assert progress[-1].fraction == pytest.approx(1.0)


def test_same_seed_same_frames_and_a_two_shot_routes_two_voices(tiny_folder, media, tmp_path, backend):
    class Sink:
        def __init__(self):
            self.frames = []

        def write(self, f):
            self.frames.append(f)

    job = _job(tiny_folder, media, tmp_path, fps=25.0, duration=0.32)
    a, b = Sink(), Sink()
    meta = backend.render(job, a, RenderContext())
    backend.render(job, b, RenderContext())
    assert len(a.frames) == 8 and all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert meta["adapter"] == "single" and meta["speakers"] == 1 and meta["passes_per_step"] == 2
    speakers = [{"audio_path": str(media / "line.wav"), "audio_in": 0.0, "box": [0.0, 0.1, 0.5, 0.9]},
                {"audio_path": None, "box": [0.5, 0.1, 1.0, 0.9]}]
    two = job.replace(options={**job.options, "speakers": speakers})
    c = Sink()
    meta2 = backend.render(two, c, RenderContext())
    assert meta2["adapter"] == "multi" and meta2["speakers"] == 2 and len(c.frames) == 8
    with pytest.raises(BackendError, match="face box"):
        backend.render(two.replace(options={**two.options, "speakers": [speakers[0], {"audio_path": None}]}),
                       Sink(), RenderContext())


def test_draft_without_lora_falls_back_and_says_so(tiny_folder, media, tmp_path, backend):
    class Sink:
        def write(self, f):
            pass

    job = _job(tiny_folder, media, tmp_path, fps=24.0, duration=0.25, steps=1).replace(quality="draft", audio_path=None)
    meta = backend.render(job, Sink(), RenderContext())
    assert meta["preset"]["lora"] is None and meta["preset"]["fallbacks"]
    assert meta["audio"] is False and meta["passes_per_step"] == 1  # silence needs no audio guidance pass
    assert meta["frames"] == 6 and meta["preset"]["shift"] == 2.0
    from engine.backends.infinitetalk.lora import DRAFT_PRESET
    from engine.backends.infinitetalk.presets import PRESETS

    assert {k: PRESETS["draft"][k] for k in ("steps", "guidance_text", "guidance_audio", "shift")} == {
        k: DRAFT_PRESET[k] for k in ("steps", "guidance_text", "guidance_audio", "shift")}


def test_presets_and_buckets():
    from engine.backends.infinitetalk.presets import PresetError, bucket_size, resolve_preset

    assert bucket_size("480p", 1920, 1080) == (896, 448) and bucket_size("720p", 1920, 1080) == (1280, 704)
    assert bucket_size("480p", 1080, 1920) == (448, 832) and bucket_size("720p", 1000, 1000) == (960, 960)
    final = resolve_preset("final", {"steps": 30})
    assert final["steps"] == 30 and final["guidance_text"] == 5.0 and final["shift"] == 11.0  # 720p
    assert resolve_preset("final", {"resolution": "480p"})["shift"] == 7.0
    assert resolve_preset("draft", {}, lora_path="/x.safetensors")["steps"] == 4
    with pytest.raises(PresetError, match="resolution"):
        resolve_preset("final", {"resolution": "4k"})
