"""Tiny random-weight InfiniteTalk model folders, in the real layouts, for tests and benchmarks.

The backbone is the diffusers layout of Wan2.1-I2V-14B-480P (transformer with CLIP image
conditioning, Wan2.1 VAE, UMT5, CLIP ViT, UniPC scheduler), only narrow. The adapter is
written the way MeiGen-AI publishes it: one ``infinitetalk.safetensors`` per variant,
published tensor names, no config, shapes from the reference's own rules (spelled out
here independently of :mod:`.keys`, so a test can compare the two). The audio encoder is a
two-layer ``Wav2Vec2Model`` with the chinese-wav2vec2-base feature-extractor settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

TINY: dict[str, Any] = {
    "z_dim": 16,
    "heads": 2,
    "head_dim": 16,
    "layers": 2,
    "text_dim": 32,
    "clip_dim": 32,
    "audio_dim": 32,
    "audio_layers": 2,
    "inter": 32,
    "cross": 16,
    "tokens": 4,
}


def reference_adapter_shapes(dim: int, blocks: int, audio_layers: int = 12, audio_dim: int = 768,
                             window: int = 5, stride: int = 4, inter: int = 512, cross: int = 768,
                             tokens: int = 32) -> dict[str, tuple[int, ...]]:
    """Published tensor names and shapes, written out from the reference's module definitions.

    ``AudioProjModel``: proj1 (window·blocks·channels → inter), proj1_vf ((window+3)·… → inter),
    proj2, proj3 (inter → tokens·cross), LayerNorm(cross). Per block: ``norm_x`` LayerNorm(dim),
    ``audio_cross_attn`` with q_linear (dim→dim), kv_linear (cross→2·dim), proj (dim→dim), biases.
    """
    f = audio_layers * audio_dim
    shapes: dict[str, tuple[int, ...]] = {
        "audio_proj.proj1.weight": (inter, window * f), "audio_proj.proj1.bias": (inter,),
        "audio_proj.proj1_vf.weight": (inter, (window + stride - 1) * f), "audio_proj.proj1_vf.bias": (inter,),
        "audio_proj.proj2.weight": (inter, inter), "audio_proj.proj2.bias": (inter,),
        "audio_proj.proj3.weight": (tokens * cross, inter), "audio_proj.proj3.bias": (tokens * cross,),
        "audio_proj.norm.weight": (cross,), "audio_proj.norm.bias": (cross,),
    }
    for i in range(blocks):
        shapes[f"blocks.{i}.norm_x.weight"] = (dim,)
        shapes[f"blocks.{i}.norm_x.bias"] = (dim,)
        shapes[f"blocks.{i}.audio_cross_attn.q_linear.weight"] = (dim, dim)
        shapes[f"blocks.{i}.audio_cross_attn.q_linear.bias"] = (dim,)
        shapes[f"blocks.{i}.audio_cross_attn.kv_linear.weight"] = (2 * dim, cross)
        shapes[f"blocks.{i}.audio_cross_attn.kv_linear.bias"] = (2 * dim,)
        shapes[f"blocks.{i}.audio_cross_attn.proj.weight"] = (dim, dim)
        shapes[f"blocks.{i}.audio_cross_attn.proj.bias"] = (dim,)
    return shapes


def tiny_adapter_shapes() -> dict[str, tuple[int, ...]]:
    s = TINY
    return reference_adapter_shapes(s["heads"] * s["head_dim"], s["layers"], s["audio_layers"], s["audio_dim"],
                                    inter=s["inter"], cross=s["cross"], tokens=s["tokens"])


def write_published_adapter(path: str | os.PathLike[str], shapes: dict[str, tuple[int, ...]] | None = None,
                            seed: int = 0, zero_output: bool = False, gain: float = 1.0,
                            dtype: torch.dtype = torch.float32) -> Path:
    """Write random weights under the published names; ``zero_output`` zeroes every ``proj``
    (the cross-attention output), so the adapter adds exactly nothing."""
    from safetensors.torch import save_file

    shapes = shapes or tiny_adapter_shapes()
    gen = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight") or name.endswith("norm_x.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) == 2:
            t = torch.randn(shape, generator=gen) * (gain / shape[1] ** 0.5)
        else:
            t = 0.1 * torch.randn(shape, generator=gen)
        if zero_output and ".audio_cross_attn.proj." in name:
            t = torch.zeros(shape)
        tensors[name] = t.to(dtype).contiguous()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"format": "pt"})
    return out


def model_index() -> dict[str, Any]:
    """The model_index.json of Wan2.1-I2V-14B-480P-Diffusers."""
    return {
        "_class_name": "WanImageToVideoPipeline",
        "_diffusers_version": "0.33.0.dev0",
        "image_encoder": ["transformers", "CLIPVisionModel"],
        "image_processor": ["transformers", "CLIPImageProcessor"],
        "scheduler": ["diffusers", "UniPCMultistepScheduler"],
        "text_encoder": ["transformers", "UMT5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "WanTransformer3DModel"],
        "vae": ["diffusers", "AutoencoderKLWan"],
    }


def build_tiny_backbone(root: Path, seed: int) -> None:
    """The Wan2.1-I2V diffusers components at tiny width, saved as safetensors."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel, UMT5Config, UMT5EncoderModel

    from engine.backends.soul.testing import _tokenizer

    s = TINY
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = _tokenizer()
        tokenizer.save_pretrained(root / "tokenizer")
        UMT5EncoderModel(UMT5Config(
            vocab_size=len(tokenizer), d_model=s["text_dim"], d_kv=8, d_ff=64, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=32, dropout_rate=0.0,
        )).save_pretrained(root / "text_encoder")
        AutoencoderKLWan(
            base_dim=8, z_dim=s["z_dim"], dim_mult=[1, 2, 2, 2], num_res_blocks=1,
            temperal_downsample=[False, True, True],
            latents_mean=[0.05 * i for i in range(s["z_dim"])], latents_std=[1.0 + 0.1 * i for i in range(s["z_dim"])],
        ).save_pretrained(root / "vae")
        CLIPVisionModel(CLIPVisionConfig(
            hidden_size=s["clip_dim"], intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
            image_size=32, patch_size=8, projection_dim=16,
        )).save_pretrained(root / "image_encoder")
        CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
            root / "image_processor")
        inner = s["heads"] * s["head_dim"]
        WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=s["heads"], attention_head_dim=s["head_dim"],
            in_channels=2 * s["z_dim"] + 4, out_channels=s["z_dim"], text_dim=s["text_dim"], freq_dim=32, ffn_dim=64,
            num_layers=s["layers"], cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
            image_dim=s["clip_dim"], added_kv_proj_dim=inner, rope_max_seq_len=64,
        ).save_pretrained(root / "transformer")
        UniPCMultistepScheduler(
            num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
        ).save_pretrained(root / "scheduler")
    (root / "model_index.json").write_text(json.dumps(model_index(), indent=2))


def build_tiny_audio_encoder(folder: Path, seed: int) -> None:
    """A two-layer wav2vec2 saved the way TencentGameMate/chinese-wav2vec2-base is published.

    That checkpoint is a ``Wav2Vec2ForPreTraining``: tensors under ``wav2vec2.``, the
    quantizer and projection heads beside them, and the positional convolution's weight
    norm under the old ``weight_g``/``weight_v`` names. ``Wav2Vec2Model`` loads it as is.
    """
    from safetensors.torch import load_file, save_file
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForPreTraining

    s = TINY
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        Wav2Vec2ForPreTraining(Wav2Vec2Config(
            hidden_size=s["audio_dim"], num_hidden_layers=s["audio_layers"], num_attention_heads=2,
            intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
            do_stable_layer_norm=False, feat_extract_norm="group", vocab_size=32, codevector_dim=16,
            proj_codevector_dim=16, num_codevectors_per_group=8,
        )).save_pretrained(folder)
    weights = folder / "model.safetensors"
    renamed = {k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1",
                                                                                   "weight_v"): v
               for k, v in load_file(str(weights)).items()}
    save_file(renamed, str(weights), metadata={"format": "pt"})
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=False,
    ).save_pretrained(folder)


def build_tiny_infinitetalk_folder(path: str | os.PathLike[str], seed: int = 0, zero_adapter: bool = False,
                                   adapter_gain: float = 1.0) -> Path:
    """A complete tiny InfiniteTalk model folder (see :mod:`.folder` for the layout)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    build_tiny_backbone(root, seed)
    build_tiny_audio_encoder(root / "audio_encoder", seed + 1)
    for i, variant in enumerate(("single", "multi")):
        write_published_adapter(root / "infinitetalk" / variant / "infinitetalk.safetensors", seed=seed + 10 + i,
                                zero_output=zero_adapter, gain=adapter_gain)
    return root
