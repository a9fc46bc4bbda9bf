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
    """Give the zero-initialised output gates random values and move the copied value/output
    projections away from the text attention's (a 'trained' adapter)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in adapter.layers:
            for p in (layer.gate, layer.to_v.weight, layer.to_out.weight):
                p.add_(torch.randn(p.shape, generator=gen, dtype=torch.float32).to(p.dtype) * std)


def perturb_norms(model: torch.nn.Module, seed: int = 0, std: float = 0.3) -> None:
    """Move every norm's affine weights off their init (ones/zeros), as trained models are, so a
    copy or a wiring that skips a norm cannot pass unnoticed."""
    gen = torch.Generator().manual_seed(2000 + seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.RMSNorm | torch.nn.LayerNorm) and module.weight is not None:
                w = module.weight
                w.copy_(1.0 + std * torch.randn(w.shape, generator=gen, dtype=torch.float32).to(w.dtype))
                if getattr(module, "bias", None) is not None:
                    module.bias.copy_(std * torch.randn(module.bias.shape, generator=gen).to(module.bias.dtype))


def tiny_latent_stats(z_dim: int, seed: int = 0) -> tuple[list[float], list[float]]:
    """Per-channel latent mean/std far from (0, 1), so a wrong normalisation shows in every test."""
    gen = torch.Generator().manual_seed(1000 + seed)
    mean = (torch.rand(z_dim, generator=gen) * 1.6 - 0.8).tolist()
    std = (torch.rand(z_dim, generator=gen) * 1.5 + 0.5).tolist()
    return [round(m, 4) for m in mean], [round(v, 4) for v in std]


def save_tiny_audio_encoder(folder: Path, kind: str = "whisper") -> None:
    """A tiny audio encoder saved as people have the real ones: a full ``WhisperModel`` (decoder
    included, which soul ignores) or a ``Wav2Vec2ForCTC`` (``wav2vec2.`` prefix, ``lm_head``)."""
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperModel,
    )

    s = TINY_SIZES
    if kind == "whisper":
        whisper = WhisperModel(WhisperConfig(
            vocab_size=64, d_model=s["audio_dim"], encoder_layers=s["audio_layers"], decoder_layers=1,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
            num_mel_bins=80, max_source_positions=200, max_target_positions=16, pad_token_id=0,
            bos_token_id=1, eos_token_id=2, decoder_start_token_id=1,
        ))
        with torch.no_grad():  # random convs are weak next to the sinusoids: let the sound dominate, as trained
            whisper.encoder.embed_positions.weight.mul_(0.05)
            whisper.encoder.conv1.weight.mul_(4.0)
            whisper.encoder.conv2.weight.mul_(4.0)
        whisper.save_pretrained(folder)
        # a 4 s input window (the published models use 30 s): 400 mel frames -> 200 encoder frames
        WhisperFeatureExtractor(feature_size=80, sampling_rate=16_000, hop_length=160, chunk_length=4,
                                n_fft=400).save_pretrained(folder)
        return
    Wav2Vec2ForCTC(Wav2Vec2Config(
        hidden_size=s["audio_dim"], num_hidden_layers=s["audio_layers"], num_attention_heads=2,
        intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        do_stable_layer_norm=False, feat_extract_norm="group", vocab_size=32,
    )).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=False,
    ).save_pretrained(folder)


def build_tiny_soul_folder(path: str | os.PathLike[str], seed: int = 0, trained_adapter: bool = False,
                           audio_encoder: str = "whisper") -> Path:
    """Write a complete tiny soul model folder at ``path`` and return it.

    ``trained_adapter`` gives the adapter non-zero output gates so audio changes the
    picture; by default the adapter is freshly copy-initialised (exactly zero effect).
    ``audio_encoder`` is ``"whisper"`` (the default) or ``"wav2vec2"``.
    """
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

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
        mean, std = tiny_latent_stats(s["z_dim"], seed)
        vae = AutoencoderKLWan(
            base_dim=8, decoder_base_dim=8, z_dim=s["z_dim"], dim_mult=[1, 2, 2, 2], num_res_blocks=1,
            temperal_downsample=[False, True, True], in_channels=12, out_channels=12, patch_size=2,
            scale_factor_spatial=16, scale_factor_temporal=4, is_residual=True,
            latents_mean=mean, latents_std=std,
        )
        vae.save_pretrained(root / "vae")
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=s["heads"], attention_head_dim=s["head_dim"],
            in_channels=s["z_dim"], out_channels=s["z_dim"], text_dim=s["text_dim"], freq_dim=32, ffn_dim=64,
            num_layers=s["layers"], cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=64,
        )
        perturb_norms(transformer, seed)
        transformer.save_pretrained(root / "transformer")
        UniPCMultistepScheduler(
            num_train_timesteps=1000, prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0,
        ).save_pretrained(root / "scheduler")
        save_tiny_audio_encoder(root / "audio_encoder", audio_encoder)
        adapter = SoulAudioAdapter.for_transformer(
            transformer, audio_dim=s["audio_dim"], audio_layers=s["audio_layers"], audio_encoder_type=audio_encoder,
            context_frames=2, temporal_stride=4, tokens_per_frame=2, proj_dim=32,
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
