"""Optional learnt models for the evaluation, each read from a file or folder the user supplies.

Nothing is downloaded. Every model is optional: without it the matching score says
"not computed" and why, and the weight-free measures still run.

* ``--syncnet FILE``: SyncNet v2 weights (see :mod:`soul_studio.bench.syncnet`).
* ``--arcface FILE``: an ArcFace face embedder: IResNet backbone weights (``.safetensors``,
  or the published ``backbone.pth`` read with ``torch.load(weights_only=True)``), or any
  ArcFace-class model exported to ONNX (112×112 RGB in, an embedding out), run through
  onnxruntime when it is installed.
* ``--clip FOLDER``: a Hugging Face CLIP model folder (``config.json`` and
  ``model.safetensors``); pickled ``.bin`` weights are refused.
* ``--inception FILE`` with ``--reference DIR``: an ONNX image feature model (Inception
  pool features, 299×299 RGB in) for FID against reference pictures or movies.
* ``--i3d FOLDER`` with ``--reference DIR``: a 3D-convolution video feature network
  (``config.json`` and ``model.safetensors``, see :mod:`soul_studio.bench.videofeatures`)
  for FVD against the reference movies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from soul_studio.bench.errors import BenchError


def _onnx_session(path: Path, what: str, flag: str) -> Any:
    if not path.is_file():
        raise BenchError(f"{what} model not found at {path}", f"pass an .onnx file with {flag}")
    if path.suffix.lower() != ".onnx":
        raise BenchError(f"{path.name} is not an ONNX model", f"export the {what} model to .onnx and pass it with {flag}")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BenchError(f"{what} scoring needs onnxruntime, which is not installed",
                         "pip install onnxruntime, or leave the option out") from exc
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class OnnxFaceEmbedder:
    """ArcFace-style embeddings: aligned 112×112 crops, (x - 127.5) / 127.5, NCHW."""

    side = 112

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.session = _onnx_session(self.path, "ArcFace", "--arcface")
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.channels_last = len(shape) == 4 and shape[-1] == 3

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        from soul_studio.bench.features import face_crop

        crop = face_crop(rgb, box, margin=0.05, side=self.side).astype(np.float32)
        x = (crop - 127.5) / 127.5
        x = x[None] if self.channels_last else x.transpose(2, 0, 1)[None]
        out = np.asarray(self.session.run(None, {self.input_name: x})[0]).reshape(-1)
        return out / (np.linalg.norm(out) + 1e-9)


class OnnxImageFeatures:
    """Pool features of a 299×299 RGB picture from an ONNX Inception-class network, for FID."""

    side = 299

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.session = _onnx_session(self.path, "Inception", "--inception")
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.channels_last = len(inp.shape) == 4 and inp.shape[-1] == 3

    def features(self, rgb: np.ndarray) -> np.ndarray:
        x = cv2.resize(rgb, (self.side, self.side), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1.0
        x = x[None] if self.channels_last else x.transpose(2, 0, 1)[None]
        return np.asarray(self.session.run(None, {self.input_name: x})[0], np.float64).reshape(-1)


class ClipScorer:
    """CLIP image–text similarity from a local transformers folder (safetensors only)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not (self.folder / "config.json").is_file():
            raise BenchError(f"no CLIP model at {self.folder} (config.json missing)",
                             "pass a CLIP model folder saved with save_pretrained (safetensors) to --clip")
        if not any(self.folder.glob("*.safetensors")):
            raise BenchError(f"{self.folder} holds no .safetensors weights", "pickled .bin weights are refused; "
                             "convert the model to safetensors")
        from transformers import CLIPModel, CLIPProcessor

        self.model = CLIPModel.from_pretrained(str(self.folder), use_safetensors=True, local_files_only=True).eval()
        self.processor = CLIPProcessor.from_pretrained(str(self.folder), local_files_only=True)

    def score(self, frames: list[np.ndarray], text: str) -> float:
        """Mean over ``frames`` of 100 × max(cos(image, text), 0): the usual CLIP score scale."""
        import torch

        inputs = self.processor(text=[text], images=list(frames), return_tensors="pt", padding=True, truncation=True)
        with torch.inference_mode():
            out = self.model(**inputs)
        img = torch.nn.functional.normalize(out.image_embeds, dim=-1)
        txt = torch.nn.functional.normalize(out.text_embeds, dim=-1)
        return float((100.0 * (img @ txt.T).clamp(min=0)).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows ``a`` and ``b`` (FID formula)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # Tr sqrt(S1 S2) from the eigenvalues of sqrt(S1) S2 sqrt(S1), which is symmetric PSD.
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_sqrt = float(np.sqrt(np.clip(inner, 0, None)).sum())
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


@dataclass
class Models:
    """The optional models of one evaluation run; ``None`` means the score is not computed."""

    syncnet: Any = None
    face: Any = None  # OnnxFaceEmbedder or TorchFaceEmbedder: .embed(rgb, box), .path
    clip: ClipScorer | None = None
    inception: OnnxImageFeatures | None = None
    reference: Path | None = None
    video: Any = None  # soul_studio.bench.videofeatures.VideoFeatures, for FVD

    @classmethod
    def load(cls, syncnet: str | Path | None = None, arcface: str | Path | None = None, clip: str | Path | None = None,
             inception: str | Path | None = None, reference: str | Path | None = None,
             i3d: str | Path | None = None) -> Models:
        """Load what is given; a missing or unreadable file raises :class:`BenchError` at once."""
        models = cls()
        if syncnet:
            from soul_studio.bench.syncnet import load_syncnet

            models.syncnet = load_syncnet(syncnet)
        if arcface:
            if Path(arcface).suffix.lower() == ".onnx":
                models.face = OnnxFaceEmbedder(arcface)
            else:
                from soul_studio.bench.arcface import TorchFaceEmbedder

                models.face = TorchFaceEmbedder(arcface)
        if clip:
            models.clip = ClipScorer(clip)
        if inception or i3d or reference:
            if not reference:
                raise BenchError("FID and FVD compare against a reference set",
                                 "pass --reference DIR together with --inception MODEL.onnx or --i3d FOLDER")
            if not (inception or i3d):
                raise BenchError("FID needs both a feature model and reference pictures",
                                 "pass --inception MODEL.onnx (FID) or --i3d FOLDER (FVD) together with --reference DIR")
            ref = Path(reference)
            if not ref.is_dir():
                raise BenchError(f"reference folder {ref} does not exist", "pass a folder of pictures or movies to --reference")
            if inception:
                models.inception = OnnxImageFeatures(inception)
            if i3d:
                from soul_studio.bench.videofeatures import VideoFeatures

                models.video = VideoFeatures(i3d)
            models.reference = ref
        return models


__all__ = ["ClipScorer", "Models", "OnnxFaceEmbedder", "OnnxImageFeatures", "frechet_distance"]
