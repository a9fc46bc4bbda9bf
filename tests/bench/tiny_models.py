"""Tiny random-weight models saved the way users supply real ones, for the learnt-model paths."""

from __future__ import annotations

from pathlib import Path


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A two-layer CLIP with a byte-level tokenizer (no merges), saved with safetensors."""
    import torch
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    alphabet = sorted(ByteLevel.alphabet())
    for token in alphabet + [c + "</w>" for c in alphabet] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab[token] = len(vocab)
    tokenizer = CLIPTokenizerFast(vocab=vocab, merges=[])
    end = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77, bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=end, pad_token_id=end),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(seed)
    model = CLIPModel(config)
    # Random towers give embeddings at random angles, mostly clamped to a score of 0. A shared
    # offset after both final norms, read out along one common direction, puts image and text
    # embeddings near each other while the random part still makes every input score differently.
    with torch.no_grad():
        shared = torch.randn(config.projection_dim)
        for norm, proj in ((model.vision_model.post_layernorm, model.visual_projection),
                           (model.text_model.final_layer_norm, model.text_projection)):
            norm.bias.fill_(1.0)
            proj.weight.add_(torch.outer(shared, torch.ones(proj.weight.shape[1])) / proj.weight.shape[1])
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


TINY_VIDEO_CONFIG = {
    "clip_frames": 8, "side": 48,
    "stages": [{"out": 8, "kernel": [3, 5, 5], "stride": [1, 2, 2], "norm": True},
               {"out": 16, "kernel": 3, "stride": [2, 2, 2], "pool": [1, 2, 2]},
               {"out": 24, "kernel": 3, "stride": 2}],
    "mean": [0.0, 0.0, 0.0], "std": [0.5, 0.5, 0.5],
}


def save_tiny_video_net(folder: Path, seed: int = 0) -> Path:
    """Random weights for a three-stage 3D-conv feature network, in the ``--i3d`` folder layout."""
    import torch

    from soul_studio.bench.videofeatures import build_network, save_network

    torch.manual_seed(seed)
    net = build_network(TINY_VIDEO_CONFIG)
    with torch.no_grad():  # a trained-looking norm layer, so its statistics matter
        norm = net.stages[0].norm
        norm.running_mean.uniform_(-0.2, 0.2)
        norm.running_var.uniform_(0.5, 2.0)
        last = net.stages[-1].conv  # default init gives features of ~0.03; real networks give ~1
        last.weight.mul_(20.0)
        last.bias.mul_(20.0)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    return save_network(folder, TINY_VIDEO_CONFIG, state)
