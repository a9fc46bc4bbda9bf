"""Attention backends through diffusers' dispatcher and regional torch.compile, on the tiny transformer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from engine.backends.base import BackendError
from engine.backends.infinitetalk.speed import apply_speed_options, set_attention_backend
from tests.infinitetalk.tiny_i2v import tiny_inputs, tiny_transformer


@pytest.fixture
def transformer():
    return tiny_transformer()


def _out(model):
    with torch.no_grad():
        return model(**tiny_inputs())[0]


def test_native_backends_give_the_same_picture(transformer):
    base = _out(transformer)
    try:
        assert set_attention_backend(transformer, "_native_math") == "_native_math"
        torch.testing.assert_close(_out(transformer), base, atol=1e-5, rtol=1e-5)
    finally:
        set_attention_backend(transformer, "native")
    torch.testing.assert_close(_out(transformer), base, atol=1e-6, rtol=1e-6)


def test_missing_or_unknown_backends_are_clear_errors(transformer):
    with pytest.raises(BackendError, match="unknown attention backend") as err:
        set_attention_backend(transformer, "flash_hub")
    assert "not downloaded" in err.value.hint
    try:
        import flash_attn  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError) as err:
            set_attention_backend(transformer, "flash")
        assert "flash-attn" in err.value.hint and "native" in err.value.hint
    set_attention_backend(transformer, "native")


def test_compile_option_compiles_each_block_and_keeps_the_output(transformer):
    base = _out(transformer)
    pipe = SimpleNamespace(transformer=transformer, audio_adapter=None)
    applied = apply_speed_options(pipe, {"attention_backend": "native", "torch_compile": True},
                                  compile_backend="eager")  # eager: no C compiler needed on CI
    assert applied == {"attention_backend": "native", "torch_compile": "default"}
    assert all(hasattr(block, "_compiled_call_impl") and block._compiled_call_impl is not None
               for block in transformer.blocks)
    torch.testing.assert_close(_out(transformer), base, atol=1e-5, rtol=1e-5)
    assert apply_speed_options(pipe, {}) == {}
