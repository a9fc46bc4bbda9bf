"""Optional clip captions from a captioning model folder the user supplies (safetensors only).

Any image-to-text model that transformers loads with ``AutoModelForImageTextToText``
(BLIP, GIT, and the like) works: the middle frame of each kept clip is described in a
short sentence. Without a folder there are no captions and the manifest says ``null``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soul_studio.bench.errors import BenchError


def check_captioner(folder: str | Path) -> Path:
    """Validate a captioner folder early (in the parent) so workers never fail on it."""
    p = Path(folder)
    if not (p / "config.json").is_file():
        raise BenchError(f"no captioning model at {p} (config.json missing)",
                         "pass a folder saved with save_pretrained, or leave --captioner out")
    if not any(p.glob("*.safetensors")):
        raise BenchError(f"{p} holds no .safetensors weights", "pickled .bin weights are refused; convert to safetensors")
    return p


class Captioner:
    """Loads the model once per process; :meth:`caption` describes one RGB frame."""

    def __init__(self, folder: str | Path, max_new_tokens: int = 30) -> None:
        self.folder = check_captioner(folder)
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.processor = AutoProcessor.from_pretrained(str(self.folder), local_files_only=True)
        self.model = AutoModelForImageTextToText.from_pretrained(
            str(self.folder), use_safetensors=True, local_files_only=True).eval()
        self.max_new_tokens = max_new_tokens

    def caption(self, rgb: np.ndarray) -> str:
        import torch
        from PIL import Image

        inputs = self.processor(images=Image.fromarray(rgb), return_tensors="pt")
        with torch.inference_mode():
            ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens)
        return str(self.processor.batch_decode(ids, skip_special_tokens=True)[0]).strip()


__all__ = ["Captioner", "check_captioner"]
