"""Light VAE: shapes match the Wan VAE, streaming is exact, training learns, pickles are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.light_vae import LightVAE, check_compatible, light_vae_for, load_light_vae
from engine.backends.soul.train import light_vae as train


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = (16, 16, 16, 16)


def tiny_wan_vae(z_dim: int = 16):
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(
        base_dim=8, decoder_base_dim=8, z_dim=z_dim, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
        temperal_downsample=[False, True, True], in_channels=12, out_channels=12, patch_size=2,
        scale_factor_spatial=16, scale_factor_temporal=4, is_residual=True,
        latents_mean=[0.1] * z_dim, latents_std=[2.0] * z_dim,
    ).eval()


def test_frame_geometry_matches_the_wan_vae():
    vae = tiny_wan_vae()
    light = light_vae_for(vae.config, SMALL)
    check_compatible(light, vae.config)
    z = torch.randn(1, 16, 3, 2, 3)
    with torch.no_grad():
        assert light(z).shape == vae.decode(z).sample.shape == (1, 3, 9, 32, 48)
        out = light.decode(z).sample
    assert out.min() >= -1 and out.max() <= 1
    assert light.config.latents_std == [2.0] * 16


def test_real_wan22_geometry():
    """Wan2.2-TI2V-5B: z_dim 48, patch 2, 16x spatial, 4x temporal."""
    cfg = {"z_dim": 48, "out_channels": 12, "patch_size": 2, "scale_factor_spatial": 16, "scale_factor_temporal": 4}
    light = light_vae_for(cfg, SMALL)
    assert light(torch.zeros(1, 48, 2, 1, 1)).shape == (1, 3, 5, 16, 16)
    with pytest.raises(ValueError):
        check_compatible(light, {**cfg, "z_dim": 16})


def test_streaming_decode_equals_one_shot_and_denormalizes():
    vae = tiny_wan_vae()
    light = light_vae_for(vae.config, SMALL).eval()
    norm = torch.randn(1, 16, 5, 2, 2)
    pieces = list(light.decode_frames(norm, group=2))
    assert [p.shape[0] for p in pieces] == [5, 8, 4]  # 1 + 4·(T-1) = 17 frames in all
    streamed = np.concatenate(pieces)
    with torch.no_grad():
        whole = light.decode(norm * 2.0 + 0.1).sample
    ref = whole[0].permute(1, 2, 3, 0).add(1).mul(127.5).round().clamp(0, 255).byte().numpy()
    assert np.abs(streamed.astype(int) - ref.astype(int)).max() <= 1
    assert light.preview_frame(norm).shape == (32, 32, 3)


def test_training_loop_reduces_loss_against_the_full_decoder():
    vae = tiny_wan_vae()
    clips = train.synthetic_clips(3, 9, 32, 32, seed=1)
    pairs = train.teacher_pairs(vae, clips)
    assert pairs[0][0].shape == (1, 16, 3, 2, 2) and pairs[0][1].shape == (1, 3, 9, 32, 32)
    student = light_vae_for(vae.config, SMALL)
    with torch.no_grad():
        before = float(torch.nn.functional.mse_loss(student(pairs[0][0]), pairs[0][1]))
    losses = train.train_light_vae(student, pairs, steps=60, lr=3e-3, seed=0)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first * 0.8
    with torch.no_grad():
        after = float(torch.nn.functional.mse_loss(student(pairs[0][0]), pairs[0][1]))
    assert after < before


def test_cli_trains_saves_safetensors_and_reloads(tmp_path):
    vae_dir = tmp_path / "model" / "vae"
    tiny_wan_vae().save_pretrained(vae_dir)
    out = tmp_path / "light"
    rc = train.main(["--vae", str(tmp_path / "model"), "--out", str(out), "--synthetic", "2", "--frames", "5",
                     "--size", "32x32", "--steps", "30", "--lr", "3e-3", "--channels", "8,8,8,8"])
    assert rc == 0
    assert (out / "diffusion_pytorch_model.safetensors").is_file()
    log = json.loads((out / "training.json").read_text())
    assert log["loss_last"] < log["loss_first"]
    light = load_light_vae(out)
    assert isinstance(light, LightVAE) and light.config.channels == [8, 8, 8, 8]
    z = torch.randn(1, 16, 2, 2, 2)
    again = LightVAE.from_pretrained(out)
    with torch.no_grad():
        assert torch.equal(light(z), again(z))


def test_load_refuses_pickles_and_missing_weights(tmp_path):
    light = light_vae_for(tiny_wan_vae().config, SMALL)
    light.save_pretrained(tmp_path / "ok")
    (tmp_path / "ok" / "extra.ckpt").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelFolderError, match="pickled"):
        load_light_vae(tmp_path / "ok")
    light.save_pretrained(tmp_path / "pt", safe_serialization=False)
    with pytest.raises(ModelFolderError):
        load_light_vae(tmp_path / "pt")
    with pytest.raises(ModelFolderError):
        load_light_vae(tmp_path / "nothing")
