"""Captions come from the user's captioning model, for kept clips only (a tiny BLIP made here)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from soul_studio.annotate.captions import Captioner
from soul_studio.annotate.pipeline import annotate_folder, read_manifest

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "a", "person", "talking", "face", "portrait"]


@pytest.fixture(scope="module")
def captioner(tmp_path_factory):
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipProcessor
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    folder = tmp_path_factory.mktemp("blip")
    tokenizer = BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)}, bos_token="[DEC]")
    text = dict(vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                max_position_embeddings=64, bos_token_id=5, pad_token_id=0, sep_token_id=3)
    vision = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
                  patch_size=8)
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(BlipConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()
    with torch.no_grad():  # make the decoder say "talking" whatever it sees
        head = model.text_decoder.cls.predictions
        head.bias[WORDS.index("talking")] = 50.0
        head.decoder.bias[WORDS.index("talking")] = 50.0
    model.save_pretrained(folder, safe_serialization=True)
    BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}),
                  tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_captioner_describes_a_frame(captioner):
    caption = Captioner(captioner, max_new_tokens=4).caption(np.zeros((64, 64, 3), np.uint8))
    assert caption.split() and set(caption.split()) == {"talking"}


def test_kept_clips_get_captions_rejected_ones_do_not(captioner, footage, tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    shutil.copy(footage["folder"] / "one_face.mp4", folder / "one_face.mp4")
    shutil.copy(footage["folder"] / "blurred.mp4", folder / "blurred.mp4")
    annotate_folder(folder, tmp_path / "ds", workers=1, captioner=str(captioner))
    records = {r["source"]: r for r in read_manifest(tmp_path / "ds")}
    assert records["one_face.mp4"]["kept"] and "talking" in records["one_face.mp4"]["caption"]
    assert not records["blurred.mp4"]["kept"] and records["blurred.mp4"]["caption"] is None


def test_pickled_captioners_are_refused(tmp_path):
    from soul_studio.bench.errors import BenchError

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(BenchError, match="no .safetensors"):
        Captioner(tmp_path)
