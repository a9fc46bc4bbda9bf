"""A tiny Wan2.1-I2V transformer (image cross-attention included) with random weights, for the LoRA, speed and placement tests."""

from __future__ import annotations

import torch

TINY_I2V = {
    "patch_size": (1, 2, 2), "num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 36,
    "out_channels": 16, "text_dim": 16, "freq_dim": 8, "ffn_dim": 32, "num_layers": 2, "image_dim": 12,
    "added_kv_proj_dim": 16, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "rope_max_seq_len": 32,
}


def tiny_transformer(seed: int = 0, dtype: torch.dtype = torch.float32):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    model = WanTransformer3DModel(**TINY_I2V).eval().requires_grad_(False)
    with torch.no_grad():  # diffusers zero-initialises some layers: give every weight a value
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
    return model.to(dtype)


def tiny_inputs(seed: int = 1, dtype: torch.dtype = torch.float32) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return {
        "hidden_states": torch.randn(1, 36, 3, 8, 8, generator=gen).to(dtype),
        "timestep": torch.tensor([500]),
        "encoder_hidden_states": torch.randn(1, 6, 16, generator=gen).to(dtype),
        "encoder_hidden_states_image": torch.randn(1, 5, 12, generator=gen).to(dtype),
        "return_dict": False,
    }
