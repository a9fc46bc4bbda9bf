"""Distillation of the 5B model fits one 80 GB GPU: bytes counted on meta-device modules at full width."""

from __future__ import annotations

import pytest
import torch

from engine.backends.soul.train.distill_memory import GIB, distill_memory

FULL = dict(patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48, out_channels=48,
            text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
TOKENS = 21 * (480 // 32) * (832 // 32)  # 81 frames at 832x480


@pytest.fixture(scope="module")
def full_size():
    from diffusers import WanTransformer3DModel

    from engine.backends.soul.adapter import SoulAudioAdapter

    with torch.device("meta"):
        teacher = WanTransformer3DModel(**FULL)
        adapter = SoulAudioAdapter()
    return teacher, adapter


@pytest.mark.parametrize("method", ["progressive", "dmd"])
def test_5b_lora_distillation_fits_80_gb(full_size, method):
    from engine.backends.soul.train.lora import add_adapter, add_lora

    teacher, adapter = full_size
    assert 4.9e9 < sum(p.numel() for p in teacher.parameters()) < 5.1e9
    import copy

    student = copy.deepcopy(teacher)  # meta: no memory; the real run wraps the teacher itself
    add_lora(student, rank=64)
    if method == "dmd":
        add_adapter(student, "fake", trainable=True)
    mem = distill_memory(student, adapter, TOKENS, method)
    parts = mem.gib()
    assert parts["frozen teacher (shared base)"] == pytest.approx(9.3, abs=0.2)  # bf16, once
    assert 0.1 < parts["trainable factors + grads (fp32)"] < 2.0
    assert mem.total < 80 * GIB, parts


def test_a_full_weight_student_would_not_fit(full_size):
    teacher, adapter = full_size
    mem = distill_memory(teacher, adapter, TOKENS, "progressive")
    assert mem.total > 80 * GIB  # why --lora-rank is the way on one 80 GB card
