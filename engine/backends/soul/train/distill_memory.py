"""What distillation keeps on the GPU, counted from the real modules (built on the meta device).

Counts bytes, not guesses: the frozen teacher at its dtype (once: the LoRA student, the
previous round's student and DMD's critic are factor sets on the same base), the audio
adapter (frozen), the trainable factors with their fp32 gradients and AdamW moments, and
the activations of one pass with gradient checkpointing (each block's input kept, one
block's working set). ``tests/soul/test_distill_memory.py`` checks 5B fits one 80 GB GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

GIB = 1024**3
ACTIVATION_BYTES_PER_UNIT = 28  # one block's attention + FFN buffers per token per hidden unit (bf16)


@dataclass
class DistillMemory:
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def gib(self) -> dict[str, float]:
        return {k: round(v / GIB, 2) for k, v in {**self.parts, "total": self.total}.items()}


def _count(params: Any) -> int:
    return sum(p.numel() for p in params)


def distill_memory(student: nn.Module, adapter: nn.Module | None, tokens: int, method: str = "progressive",
                   frozen_bytes: int = 2, gradient_checkpointing: bool = True) -> DistillMemory:
    """Bytes of a distillation run of ``student`` (LoRA-wrapped, the teacher's base shared) over ``tokens`` tokens."""
    from engine.backends.soul.train.lora import adapter_parameters, lora_modules

    mods = lora_modules(student)
    trainable = _count(adapter_parameters(student)) if mods else _count(student.parameters())
    factor_ids = {id(p) for m in mods.values() for p in m.parameters() if p is not m.base.weight
                  and p is not getattr(m.base, "bias", None)}
    frozen = sum(p.numel() for p in student.parameters() if id(p) not in factor_ids)
    cfg = student.config
    width = cfg.num_attention_heads * cfg.attention_head_dim
    blocks = cfg.num_layers
    parts = {
        "frozen teacher (shared base)": frozen * frozen_bytes,
        "audio adapter (frozen)": _count(adapter.parameters()) * frozen_bytes if adapter is not None else 0,
        "trainable factors + grads (fp32)": trainable * 8,
        "AdamW moments (fp32)": trainable * 8,
    }
    if method == "progressive":
        parts["previous round's factors (fp32)"] = trainable * 4
    else:  # DMD: a critic factor set, trained too
        parts["critic factors + grads + AdamW (fp32)"] = trainable * 16
    if not mods:  # a full student is a second model, trained in fp32
        parts["frozen teacher (shared base)"] = frozen * frozen_bytes
        parts["previous round's copy"] = frozen * frozen_bytes
    kept = tokens * width * frozen_bytes * (blocks if gradient_checkpointing else blocks * ACTIVATION_BYTES_PER_UNIT // 2)
    parts["activations (one pass)"] = kept + tokens * width * ACTIVATION_BYTES_PER_UNIT
    return DistillMemory(parts)
