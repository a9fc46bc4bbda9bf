"""Tiny random-weight soul model folders, built offline from the real classes.

Tests and CPU benchmarks load these through the same loading code as real weights:
every component is the class the real model uses, only smaller, saved as safetensors
in the real layout. The tokenizer is a Unigram model trained in memory with the
``tokenizers`` library and wrapped as a T5 tokenizer, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

TINY_TEXT = [
    "a woman speaks softly to the camera in warm light",
    "a man talks with calm head motion, close up portrait",
    "natural blinking, subtle smile, studio background",
    "she laughs and turns her head slightly to the left",
    "an old sailor tells a story on a windy harbour at dusk",
    "the detective whispers, eyes narrowing, rain on the window",
    "young presenter, bright room, clear articulation, friendly",
]

TINY_SIZES: dict[str, Any] = {
    "z_dim": 16,
    "heads": 2,
    "head_dim": 16,
    "layers": 2,
    "text_dim": 32,
    "audio_dim": 32,
    "audio_layers": 2,
}


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import T5TokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=200, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(TINY_TEXT * 4, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


def randomize_adapter_output(adapter: torch.nn.Module, seed: int = 0, std: float = 0.5) -> None:
    """Give the zero-initialised output projections random weights (a 'trained' adapter)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in adapter.layers:
            w = layer.to_out.weight
            w.copy_(torch.randn(w.shape, generator=gen, dtype=torch.float32).to(w.dtype) * std)


def build_tiny_soul_folder(path: str | os.PathLike[str], seed: int = 0, trained_adapter: bool = False,
                           inject_every: int = 1) -> Path:
    """Write a complete tiny soul model folder at ``path`` and return it.

    ``trained_adapter`` gives the adapter non-zero output weights so audio changes the
    picture; by default the adapter is freshly initialised (exactly zero effect).
    """
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel, Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    from engine.backends.soul.adapter import SoulAudioAdapter

    s = TINY_SIZES
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = _tokenizer()
        tokenizer.save_pretrained(root / "tokenizer")
        text_encoder = UMT5EncoderModel(UMT5Config(
            vocab_size=len(tokenizer), d_model=s["text_dim"], d_kv=8, d_ff=64, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=32, dropout_rate=0.0,
        ))
        text_encoder.save_pretrained(root / "text_encoder")
        vae = AutoencoderKLWan(
            base_dim=8, decoder_base_dim=8, z_dim=s["z_dim"], dim_mult=[1, 2, 2, 2], num_res_blocks=1,
            temperal_downsample=[False, True, True], in_channels=12, out_channels=12, patch_size=2,
            scale_factor_spatial=16, scale_factor_temporal=4, is_residual=True,
            latents_mean=[0.0] * s["z_dim"], latents_std=[1.0] * s["z_dim"],
        )
        vae.save_pretrained(root / "vae")
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=s["heads"], attention_head_dim=s["head_dim"],
            in_channels=s["z_dim"], out_channels=s["z_dim"], text_dim=s["text_dim"], freq_dim=32, ffn_dim=64,
            num_layers=s["layers"], cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=64,
        )
        transformer.save_pretrained(root / "transformer")
        UniPCMultistepScheduler(
            num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0,
        ).save_pretrained(root / "scheduler")
        audio_cfg = Wav2Vec2Config(
            hidden_size=s["audio_dim"], num_hidden_layers=s["audio_layers"], num_attention_heads=2,
            intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
            do_stable_layer_norm=False, feat_extract_norm="group", vocab_size=32,
        )
        Wav2Vec2Model(audio_cfg).save_pretrained(root / "audio_encoder")
        Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=False,
        ).save_pretrained(root / "audio_encoder")
        adapter = SoulAudioAdapter(
            audio_dim=s["audio_dim"], audio_layers=s["audio_layers"], context_frames=2, temporal_stride=4,
            tokens_per_frame=2, proj_dim=32, cross_dim=16, model_dim=s["heads"] * s["head_dim"],
            num_heads=s["heads"], num_blocks=s["layers"], inject_every=inject_every,
        )
        if trained_adapter:
            randomize_adapter_output(adapter, seed)
        adapter.save_pretrained(root / "audio_adapter")
    (root / "model_index.json").write_text(json.dumps(model_index(), indent=2))
    return root


def model_index() -> dict[str, Any]:
    """The model_index.json of a Wan2.2-TI2V-5B diffusers folder."""
    return {
        "_class_name": "WanPipeline",
        "_diffusers_version": "0.35.0",
        "boundary_ratio": None,
        "expand_timesteps": True,
        "scheduler": ["diffusers", "UniPCMultistepScheduler"],
        "text_encoder": ["transformers", "UMT5EncoderModel"],
        "tokenizer": ["transformers", "T5TokenizerFast"],
        "transformer": ["diffusers", "WanTransformer3DModel"],
        "transformer_2": [None, None],
        "vae": ["diffusers", "AutoencoderKLWan"],
    }
