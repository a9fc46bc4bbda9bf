"""Tiny distillation LoRA files in the published lightx2v layout, for tests and CPU benchmarks.

The names and shape rules are those of the released ``lightx2v_I2V_14B_480p_cfg_step_distill``
files: the original Wan module names under ``diffusion_model.``, ``lora_down`` (r×in) and
``lora_up`` (out×r) per linear layer, a ``diff_b`` bias delta, zero ``diff`` tensors for the
norms and a zero ``diff_m`` per block (the modulation), optionally an ``alpha`` scalar.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

# Original Wan module name (per block, or global) → diffusers WanTransformer3DModel module name.
BLOCK_LINEARS: dict[str, str] = {
    "self_attn.q": "attn1.to_q", "self_attn.k": "attn1.to_k", "self_attn.v": "attn1.to_v",
    "self_attn.o": "attn1.to_out.0",
    "cross_attn.q": "attn2.to_q", "cross_attn.k": "attn2.to_k", "cross_attn.v": "attn2.to_v",
    "cross_attn.o": "attn2.to_out.0", "cross_attn.k_img": "attn2.add_k_proj", "cross_attn.v_img": "attn2.add_v_proj",
    "ffn.0": "ffn.net.0.proj", "ffn.2": "ffn.net.2",
}
GLOBAL_LINEARS: dict[str, str] = {
    "text_embedding.0": "condition_embedder.text_embedder.linear_1",
    "text_embedding.2": "condition_embedder.text_embedder.linear_2",
    "time_embedding.0": "condition_embedder.time_embedder.linear_1",
    "time_embedding.2": "condition_embedder.time_embedder.linear_2",
    "time_projection.1": "condition_embedder.time_proj",
    "head.head": "proj_out",
    "img_emb.proj.1": "condition_embedder.image_embedder.ff.net.0.proj",
    "img_emb.proj.3": "condition_embedder.image_embedder.ff.net.2",
}
BLOCK_NORMS = ("norm3", "self_attn.norm_q", "self_attn.norm_k", "cross_attn.norm_q", "cross_attn.norm_k",
               "cross_attn.norm_k_img")


def published_linears(transformer: nn.Module) -> dict[str, nn.Linear]:
    """Original Wan name → the diffusers linear layer it is, for every layer the LoRA adapts."""
    modules = dict(transformer.named_modules())
    out: dict[str, nn.Linear] = {}
    for i in range(len(transformer.blocks)):
        for theirs, ours in BLOCK_LINEARS.items():
            module = modules.get(f"blocks.{i}.{ours}")
            if isinstance(module, nn.Linear):
                out[f"blocks.{i}.{theirs}"] = module
    for theirs, ours in GLOBAL_LINEARS.items():
        module = modules.get(ours)
        if isinstance(module, nn.Linear):
            out[theirs] = module
    return out


def tiny_lora_state_dict(transformer: nn.Module, rank: int = 4, seed: int = 0, std: float = 0.05,
                         alpha: float | None = None) -> dict[str, torch.Tensor]:
    """Random factors for every adapted layer of ``transformer``, under the published names."""
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    dim = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    for name, module in published_linears(transformer).items():
        base = f"diffusion_model.{name}"
        sd[f"{base}.lora_down.weight"] = torch.randn(rank, module.in_features, generator=gen) * std
        sd[f"{base}.lora_up.weight"] = torch.randn(module.out_features, rank, generator=gen) * std
        sd[f"{base}.diff_b"] = torch.randn(module.out_features, generator=gen) * std
        if alpha is not None:
            sd[f"{base}.alpha"] = torch.tensor(float(alpha))
    for i in range(len(transformer.blocks)):
        for norm in BLOCK_NORMS:
            sd[f"diffusion_model.blocks.{i}.{norm}.diff"] = torch.zeros(dim)
        sd[f"diffusion_model.blocks.{i}.diff_m"] = torch.zeros(1, 6, dim)
    return {k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}


def write_tiny_lora(path: str | os.PathLike[str], transformer: nn.Module, rank: int = 4, seed: int = 0,
                    alpha: float | None = None) -> Path:
    """Save :func:`tiny_lora_state_dict` as a safetensors file and return its path."""
    from safetensors.torch import save_file

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tiny_lora_state_dict(transformer, rank, seed, alpha=alpha), str(out))
    return out


def merged_reference(transformer: nn.Module, state_dict: dict[str, torch.Tensor], scale: float = 1.0) -> nn.Module:
    """A copy of ``transformer`` with the LoRA merged the way the published loaders do it, in float32.

    ``W += scale · (alpha/rank) · up @ down`` and ``b += scale · diff_b``: the reference the
    hook-based path is compared against.
    """
    import copy

    ref = copy.deepcopy(transformer).float()
    linears = published_linears(ref)
    with torch.no_grad():
        for name, module in linears.items():
            base = f"diffusion_model.{name}"
            down = state_dict[f"{base}.lora_down.weight"].float()
            up = state_dict[f"{base}.lora_up.weight"].float()
            factor = scale
            if f"{base}.alpha" in state_dict:
                factor *= float(state_dict[f"{base}.alpha"]) / down.shape[0]
            module.weight += factor * up @ down
            if f"{base}.diff_b" in state_dict and module.bias is not None:
                module.bias += scale * state_dict[f"{base}.diff_b"].float()
    return ref
