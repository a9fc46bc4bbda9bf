"""The lightx2v draft LoRA: published layout in, diffusers conversion, hooks on, base weights untouched."""

from __future__ import annotations

import pytest
import torch

from engine.backends.infinitetalk.lora import DraftLoRA, LoRAError, convert_lora_state_dict, inspect_lora_file
from engine.backends.infinitetalk.lora_testing import (
    merged_reference,
    published_linears,
    tiny_lora_state_dict,
    write_tiny_lora,
)
from tests.infinitetalk.tiny_i2v import TINY_I2V, tiny_inputs, tiny_transformer


@pytest.fixture
def transformer():
    return tiny_transformer()


def _out(model, dtype=torch.float32):
    with torch.no_grad():
        return model(**tiny_inputs(dtype=dtype))[0]


def test_published_layout_converts_to_every_adapted_linear(transformer):
    sd = tiny_lora_state_dict(transformer, rank=4)
    assert "diffusion_model.blocks.0.cross_attn.k_img.lora_down.weight" in sd
    assert "diffusion_model.blocks.1.diff_m" in sd and "diffusion_model.head.head.diff_b" in sd
    deltas = convert_lora_state_dict(sd)
    names = {n for n, m in transformer.named_modules() if m in set(published_linears(transformer).values())}
    assert set(deltas) == names
    q = deltas["blocks.0.attn1.to_q"]
    assert q.rank == 4 and q.bias is not None and q.bias.shape == (16,)


def test_hooked_lora_matches_the_merged_reference_and_detach_is_bit_identical(transformer, tmp_path):
    sd = tiny_lora_state_dict(transformer, rank=4, seed=3)
    path = write_tiny_lora(tmp_path / "lightx2v.safetensors", transformer, rank=4, seed=3)
    before = {k: v.clone() for k, v in transformer.state_dict().items()}
    base_out = _out(transformer)

    reference = _out(merged_reference(transformer, sd))  # before attaching: a deep copy keeps hooks
    lora = DraftLoRA.from_file(path, scale=1.0)
    lora.attach(transformer)
    hooked = _out(transformer)
    assert (hooked - base_out).abs().max() > 1e-2  # the LoRA does change the prediction
    torch.testing.assert_close(hooked, reference, atol=1e-4, rtol=1e-4)

    lora.detach()
    assert not lora.attached
    for key, value in transformer.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert torch.equal(_out(transformer), base_out)


def test_alpha_and_scale_follow_the_published_rule(transformer):
    sd = tiny_lora_state_dict(transformer, rank=4, seed=5, alpha=2.0)  # alpha/rank = 0.5
    reference = _out(merged_reference(transformer, sd, scale=0.75))
    lora = DraftLoRA(convert_lora_state_dict(sd), scale=0.75)
    lora.attach(transformer)
    try:
        torch.testing.assert_close(_out(transformer), reference, atol=1e-4, rtol=1e-4)
    finally:
        lora.detach()


def test_bf16_transformer_stays_bit_identical(tmp_path):
    model = tiny_transformer(dtype=torch.bfloat16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    base = _out(model, torch.bfloat16)
    lora = DraftLoRA.from_file(write_tiny_lora(tmp_path / "l.safetensors", model), scale=1.0)
    for _ in range(2):  # attach/detach twice: the draft → final → draft cycle of a session
        lora.attach(model)
        assert not torch.equal(_out(model, torch.bfloat16), base)
        lora.detach()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert torch.equal(_out(model, torch.bfloat16), base)


def test_wrong_transformer_is_refused_with_every_problem(transformer, tmp_path):
    path = write_tiny_lora(tmp_path / "l.safetensors", transformer)
    wider = dict(TINY_I2V, attention_head_dim=16, added_kv_proj_dim=32)
    problems = inspect_lora_file(path, wider)  # headers only, model on the meta device
    assert problems and any("attn1.to_q" in p for p in problems)
    assert inspect_lora_file(path, TINY_I2V) == []
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    other = WanTransformer3DModel(**wider)
    with pytest.raises(LoRAError) as err:
        DraftLoRA.from_file(path).attach(other)
    assert len(err.value.problems) == len(problems)
    assert not any(m._forward_hooks for m in other.modules())


def test_pickles_and_missing_files_are_refused(tmp_path):
    pt = tmp_path / "lora.pt"
    torch.save({"a": torch.zeros(1)}, pt)
    with pytest.raises(LoRAError, match="safetensors"):
        DraftLoRA.from_file(pt)
    with pytest.raises(LoRAError, match="does not exist"):
        DraftLoRA.from_file(tmp_path / "nothing.safetensors")
