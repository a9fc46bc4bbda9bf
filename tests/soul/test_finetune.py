"""Audio-adapter fine-tuning on real encoded clips with a tiny soul model: data, loss, checkpoints, resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine.backends.soul.train import finetune as FT
from engine.backends.soul.train.dataset import ClipDataset, read_manifest

FPS, SRC_W, SRC_H, W, H, FRAMES, CLIP_FRAMES = 24, 80, 64, 64, 64, 9, 21
RATE = 16_000


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _patch_value(frame_index: int) -> int:
    return 20 + 10 * frame_index


def _write_clip(path: Path, seed: int, frames: int) -> np.ndarray:
    """A painted talker whose mouth opens with the audio; a grey patch encodes the frame index."""
    from engine.media import VideoWriter
    from engine.media.synthetic import draw_portrait, speech_like_audio

    audio = speech_like_audio(frames / FPS, RATE, seed=seed)
    portrait, marks = draw_portrait(seed, (SRC_W, SRC_H), return_landmarks=True)
    per_frame = RATE // FPS
    mono = audio.mono()
    with VideoWriter(path, FPS, SRC_W, SRC_H, audio=audio) as writer:
        for f in range(frames):
            img = portrait.copy()
            rms = float(np.sqrt(np.mean(mono[f * per_frame:(f + 1) * per_frame] ** 2) + 1e-12))
            mx, my = (int(round(v)) for v in marks.mouth)
            cv2.ellipse(img, (mx, my), (4, max(1, int(rms * 40))), 0, 0, 360, (60, 20, 30), -1)
            img[0:16, 16:32] = _patch_value(f)  # lands at x 8..23 after the 80 -> 64 centre crop
            writer.write(img)
    return mono


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("clips")
    (root / "media").mkdir()
    audio = {}
    lines = []
    for i in range(3):
        name = f"media/clip{i}.mp4"
        audio[i] = _write_clip(root / name, seed=i, frames=CLIP_FRAMES)
        key = "clip" if i != 1 else "path"
        caption = {"caption": f"a person speaks, take {i}"} if i != 2 else {"text": "a man talks, close up"}
        lines.append({key: name, "kept": True, "start": 1.0 + i, "end": 2.0 + i, "sync_confidence": 7.5, **caption})
    _write_clip(root / "media/short.mp4", seed=9, frames=5)
    lines.append({"clip": "media/short.mp4", "kept": True})
    lines.append({"clip": "media/rejected.mp4", "kept": False})  # never opened
    manifest = root / "clips.jsonl"
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    return {"manifest": manifest, "audio": audio, "root": root}


def test_manifest_contract(clips, tmp_path):
    entries = read_manifest(clips["manifest"])
    assert [e.path.name for e in entries] == ["clip0.mp4", "clip1.mp4", "clip2.mp4", "short.mp4"]
    assert all(e.path.is_absolute() and e.path.is_file() for e in entries)
    assert entries[1].caption == "a person speaks, take 1" and entries[2].caption == "a man talks, close up"
    assert entries[3].caption == "" and entries[0].extra["sync_confidence"] == 7.5
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"clip": "a.mp4"}\n{not json\n')
    with pytest.raises(ValueError, match=":2:"):
        read_manifest(bad)
    bad.write_text('{"caption": "no clip"}\n')
    with pytest.raises(ValueError, match="no 'clip'"):
        read_manifest(bad)


def test_dataset_windows_match_their_audio_and_repeat_with_the_seed(clips):
    ds = ClipDataset(clips["manifest"], W, H, FRAMES, seed=5)
    assert len(ds) == 3
    assert [c.path.name for c, _ in ds.skipped] == ["short.mp4"]
    starts = set()
    for epoch in range(3):
        for i in range(len(ds)):
            item = ds[(i, epoch)]
            start = item["start"]
            starts.add(start)
            assert 0 <= start <= CLIP_FRAMES - FRAMES
            frames = item["frames"]
            assert frames.shape == (FRAMES, H, W, 3) and frames.dtype == torch.uint8
            patch = frames[:, 2:14, 10:22].float().mean(dim=(1, 2, 3)).numpy()
            expected = np.array([_patch_value(start + k) for k in range(FRAMES)], np.float64)
            assert np.abs(patch - expected).max() < 4.0, (patch, expected)
            audio = item["audio"].numpy()
            assert audio.shape == (FRAMES * RATE // FPS,)
            a = start * RATE // FPS
            source = clips["audio"][i][a:a + audio.shape[0]]
            corr = np.corrcoef(audio[: source.shape[0]], source)[0, 1]
            assert corr > 0.9, corr
            assert item["fps"] == FPS
    assert len(starts) > 2  # windows move between epochs
    again = ClipDataset(clips["manifest"], W, H, FRAMES, seed=5)
    assert [again.window_start(i, e) for i in range(3) for e in range(4)] == \
        [ds.window_start(i, e) for i in range(3) for e in range(4)]
    other = ClipDataset(clips["manifest"], W, H, FRAMES, seed=6)
    assert [other.window_start(i, e) for i in range(3) for e in range(4)] != \
        [ds.window_start(i, e) for i in range(3) for e in range(4)]
    norm = ClipDataset(clips["manifest"], W, H, FRAMES, seed=5, normalize=True)[(0, 0)]["frames"]
    assert norm.shape == (3, FRAMES, H, W) and -1.0 <= float(norm.min()) < float(norm.max()) <= 1.0
    with pytest.raises(ValueError, match="4k\\+1"):
        ClipDataset(clips["manifest"], W, H, 8)


def test_batches_visit_every_clip_once_per_epoch():
    size, batch = 5, 2
    seen = [k for step in range(5) for k in FT.batch_keys(step, batch, size, seed=3)]
    assert [e for _, e in seen] == [0] * 5 + [1] * 5
    assert sorted(i for i, e in seen if e == 0) == list(range(size))
    assert sorted(i for i, e in seen if e == 1) == list(range(size))
    assert FT.batch_keys(7, batch, size, seed=3) == FT.batch_keys(7, batch, size, seed=3)
    two = [FT.batch_keys(0, 1, size, 3, rank=r, world=2)[0] for r in range(2)]
    assert two == FT.batch_keys(0, 2, size, 3)  # two processes split one global batch


def _config(**kw) -> FT.FinetuneConfig:
    base = {"steps": 4, "lr": 1e-3, "width": W, "height": H, "frames": FRAMES, "log_every": 0, "save_every": 0,
            "device": "cpu"}
    return FT.FinetuneConfig(**{**base, **kw})


def _files(folder: Path) -> set[str]:
    return {p.suffix for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def overfit_run(tiny_soul_folder, clips, tmp_path_factory):
    """30 steps on one fixed batch, training a pipeline loaded here (so its weights can be inspected)."""
    from engine.backends.soul.loader import load_soul_pipeline

    pipe = load_soul_pipeline(tiny_soul_folder)
    out = tmp_path_factory.mktemp("ft") / "run"
    result = FT.finetune(tiny_soul_folder, clips["manifest"], out,
                         _config(steps=30, lr=5e-3, audio_dropout=0.0, overfit_one_batch=True, save_every=10), pipe=pipe)
    return {"pipe": pipe, "out": out, "result": result}


def test_loss_falls_and_only_the_adapter_moves(overfit_run, tiny_soul_folder):
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    from engine.backends.soul.adapter import SoulAudioAdapter

    result, pipe = overfit_run["result"], overfit_run["pipe"]
    losses = result.losses
    assert len(losses) == 30 and all(np.isfinite(losses))
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.85 * first, (first, last)

    original = WanTransformer3DModel.from_pretrained(tiny_soul_folder / "transformer").state_dict()
    trained = pipe.transformer.state_dict()
    assert original.keys() == trained.keys()
    assert all(torch.equal(original[k], trained[k]) for k in original)
    vae = AutoencoderKLWan.from_pretrained(tiny_soul_folder / "vae").state_dict()
    assert all(torch.equal(vae[k], v) for k, v in pipe.vae.state_dict().items())
    before = SoulAudioAdapter.from_pretrained(tiny_soul_folder / "audio_adapter")
    assert all(float(layer.gate.detach().abs().max()) == 0.0 for layer in before.layers)
    saved = SoulAudioAdapter.from_pretrained(overfit_run["out"] / "audio_adapter")
    assert all(float(layer.gate.detach().abs().max()) > 0.0 for layer in saved.layers)
    for name, p in saved.state_dict().items():
        assert torch.equal(p, pipe.audio_adapter.state_dict()[name])

    out = overfit_run["out"]
    assert [p.name for p in sorted(out.glob("checkpoint-*"))] == ["checkpoint-0000020", "checkpoint-0000030"]
    assert _files(out) <= {".json", ".safetensors"}  # nothing pickled anywhere
    log = json.loads((out / "finetune.json").read_text())
    assert log["steps_done"] == 30 and log["clips"] == 3 and log["loss_last"] < log["loss_first"]


def _render(pipe, audio: np.ndarray) -> np.ndarray:
    from tests.soul.conftest import portrait_array

    pieces = pipe(portrait_array(), "a person speaks", audio, FPS, FRAMES, W, H, num_inference_steps=2,
                  guidance_text=1.0, guidance_audio=1.0, generator=torch.Generator().manual_seed(0))
    return np.concatenate(list(pieces)).astype(np.int16)


def test_trained_adapter_loads_through_the_real_loader(overfit_run, tiny_soul_folder, tiny_pipe, clips, tmp_path):
    from engine.backends.soul.loader import load_soul_pipeline

    model = FT.export_model_folder(tiny_soul_folder, overfit_run["out"], tmp_path / "tuned")
    tuned = load_soul_pipeline(model)
    speech, other = clips["audio"][0], clips["audio"][2]
    base_a, base_b = _render(tiny_pipe, speech), _render(tiny_pipe, other)
    assert np.array_equal(base_a, base_b)  # the untrained adapter adds exactly nothing
    tuned_a, tuned_b = _render(tuned, speech), _render(tuned, other)
    assert np.abs(tuned_a - base_a).mean() > 0.1
    assert np.abs(tuned_a - tuned_b).mean() > 0.1  # and now the sound moves the picture
    # the exported folder's untouched components are the original weights
    src = (tiny_soul_folder / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert (model / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == src


def test_resume_continues_from_the_saved_step(tiny_soul_folder, clips, tmp_path):
    common = ["--model", str(tiny_soul_folder), "--manifest", str(clips["manifest"]), "--resolution", f"{W}x{H}",
              "--frames", str(FRAMES), "--batch-size", "2", "--lr", "1e-3", "--audio-dropout", "0.5", "--seed", "4",
              "--save-every", "2", "--num-workers", "0", "--log-every", "0", "--device", "cpu"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert FT.main(common + ["--out", str(straight), "--steps", "4"]) == 0
    assert FT.main(common + ["--out", str(split), "--steps", "2"]) == 0
    assert [s for s, _ in FT.checkpoint_dirs(split)] == [2]
    with pytest.raises(FileExistsError):
        FT.main(common + ["--out", str(split), "--steps", "4"])
    with pytest.raises(ValueError, match="seed"):
        FT.main(common + ["--seed", "5", "--out", str(split), "--steps", "4", "--resume"])  # last --seed wins
    assert FT.main(common + ["--out", str(split), "--steps", "4", "--resume"]) == 0

    a = json.loads((straight / "finetune.json").read_text())
    b = json.loads((split / "finetune.json").read_text())
    assert len(a["losses"]) == len(b["losses"]) == 4
    np.testing.assert_allclose(b["losses"], a["losses"], rtol=1e-5)
    state = json.loads((split / "checkpoint-0000004" / "trainer_state.json").read_text())
    assert state["step"] == 4
    from safetensors.torch import load_file

    wa = load_file(str(straight / "audio_adapter" / "diffusion_pytorch_model.safetensors"))
    wb = load_file(str(split / "audio_adapter" / "diffusion_pytorch_model.safetensors"))
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-5, atol=1e-6)
    opt = load_file(str(split / "checkpoint-0000004" / "optimizer.safetensors"))
    assert opt and all(k.endswith((".exp_avg", ".exp_avg_sq", ".step")) for k in opt)


def test_lora_with_gradient_checkpointing(tiny_soul_folder, clips, tmp_path):
    from diffusers import WanTransformer3DModel
    from safetensors.torch import load_file

    runs = {}
    for ckpt in (False, True):
        out = tmp_path / f"lora{int(ckpt)}"
        FT.finetune(tiny_soul_folder, clips["manifest"], out,
                    _config(steps=3, lora_rank=2, gradient_checkpointing=ckpt, audio_dropout=0.3))
        runs[ckpt] = out
        assert _files(out) <= {".json", ".safetensors"}
    logs = [json.loads((runs[c] / "finetune.json").read_text())["losses"] for c in (False, True)]
    np.testing.assert_allclose(logs[1], logs[0], rtol=1e-5)  # recomputation hears the same audio
    lora = load_file(str(runs[True] / "transformer_lora" / "student_lora.safetensors"))
    assert any(k.endswith("lora_B.weight") and float(v.abs().max()) > 0 for k, v in lora.items())
    assert all(k.split(".")[-3] in ("to_q", "to_k", "to_v", "0") for k in lora)
    ref = load_file(str(runs[False] / "transformer_lora" / "student_lora.safetensors"))
    for k in lora:
        torch.testing.assert_close(lora[k], ref[k], rtol=1e-4, atol=1e-6)

    model = FT.export_model_folder(tiny_soul_folder, runs[True], tmp_path / "merged")
    merged = WanTransformer3DModel.from_pretrained(model / "transformer").state_dict()
    original = WanTransformer3DModel.from_pretrained(tiny_soul_folder / "transformer").state_dict()
    changed = {k for k in original if not torch.equal(original[k], merged[k])}
    assert changed and all(".attn" in k and k.endswith("weight") for k in changed)


def test_training_conditions_like_long_form_sampling():
    """Later chunks train on [pivot reference, motion latents, ...] at timestep 0, as render_long builds them."""
    from engine.backends.soul.presets import PRESETS

    config = FT.FinetuneConfig()
    assert config.overlap_probability == 0.5 and config.motion_latents == PRESETS["final"]["motion_latents"]
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(64, 4, 6, 2, 2, generator=g)
    reference = torch.randn(64, 4, 1, 2, 2, generator=g)
    x0, mask = FT.conditioning_layout(latents, reference, torch.Generator().manual_seed(1), 0.5, 2)
    later = mask[:, 0, 1, 0, 0] == 0
    assert 16 < int(later.sum()) < 48  # about half
    assert torch.equal(x0[later, :, :1], reference[later])  # the pivot heads a later chunk
    assert torch.equal(x0[~later, :, :1], latents[~later, :, :1])  # a first chunk starts from its own frame
    assert torch.equal(x0[:, :, 1:], latents[:, :, 1:])  # motion latents: the clip's own latents, untouched
    assert (mask[later, :, :3] == 0).all() and (mask[later, :, 3:] == 1).all()
    assert (mask[~later, :, :1] == 0).all() and (mask[~later, :, 1:] == 1).all()

    seen = {}

    class Spy(torch.nn.Module):
        def forward(self, x, timestep, text, feats):
            seen.update(x=x.clone(), t=timestep.clone())
            return torch.zeros_like(x, requires_grad=True)

    loss = FT.flow_matching_loss(Spy(), latents[:4], torch.zeros(4, 3, 8), torch.zeros(4, 1), torch.Generator()
                                 .manual_seed(2), 5.0, 0.0, (1, 2, 2), reference[:4], 1.0, 2)
    assert torch.isfinite(loss)
    assert torch.equal(seen["x"][:, :, :1], reference[:4]) and torch.equal(seen["x"][:, :, 1:3], latents[:4, :, 1:3])
    assert (seen["t"][:, :3] == 0).all() and (seen["t"][:, 3:] > 0).all()  # one token per latent frame here


def test_export_feeds_distillation_and_the_light_decoder(tiny_soul_folder, tiny_pipe, clips, tmp_path):
    from safetensors.torch import load_file

    from engine.backends.soul.light_vae import light_vae_for
    from engine.backends.soul.train import distill as D
    from engine.backends.soul.train.export import decoder_pairs, export_windows
    from engine.backends.soul.train.light_vae import train_light_vae

    n = export_windows(tiny_pipe, clips["manifest"], tmp_path / "export", W, H, FRAMES, with_decoded=True)
    assert n == 3
    files = sorted((tmp_path / "export").glob("window-*.safetensors"))
    d = load_file(str(files[0]))
    z = tiny_pipe.vae.config.z_dim
    assert d["latents"].shape == (1, z, 3, H // 16, W // 16) and torch.equal(d["cond_latents"], d["latents"][:, :, :1])
    assert d["prompt_embeds"].shape[1] == 512 and d["negative_prompt_embeds"].abs().sum() > 0
    assert d["audio_features"].shape[:2] == (FRAMES, 5) and d["decoded"].shape == (FRAMES, H, W, 3)
    decoded = np.concatenate(list(tiny_pipe.decode_latents(d["latents"])))
    assert np.array_equal(d["decoded"].numpy(), decoded)  # the teacher target, precomputed
    samples = D.load_samples(tmp_path / "export", tiny_pipe.audio_adapter)
    assert len(samples) == 3 and samples[0].audio is not None and samples[0].cond_latents.shape[2] == 1
    pairs = decoder_pairs(tmp_path / "export")
    raw, target = pairs[0]
    mean = torch.tensor(tiny_pipe.vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(tiny_pipe.vae.config.latents_std).view(1, -1, 1, 1, 1)
    assert torch.allclose(raw, d["latents"] * std + mean) and target.shape == (1, 3, FRAMES, H, W)
    losses = train_light_vae(light_vae_for(tiny_pipe.vae.config, (8, 8, 8, 8)), pairs, steps=3)
    assert len(losses) == 3 and all(np.isfinite(losses))
