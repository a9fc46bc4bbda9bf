"""Score one rendered take (or a folder of them) against the inputs it was made from.

The take is decoded once, streaming, so a take of minutes costs memory for its per-frame
numbers only. The first frame's face analysis (the sketch backend's Haar cascades) places
the face and the mouth; phase correlation follows the face through the take, so the
mouth box rides along with head motion. Each frame then feeds the weight-free measures:
mouth opening (for sync), flicker outside the mouth, sharpness and exposure, and, a few
times a second, an identity descriptor of the face compared with the portrait's and with
the take's own first frame. Learnt models add their scores when the user supplies them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.backends.sketch.face import Box, analyse_portrait, detect_faces
from engine.media import MediaError, iter_frames, load_audio, load_portrait, probe_video
from soul_studio.bench import features as feat
from soul_studio.bench.errors import BenchError
from soul_studio.bench.models import Models, frechet_distance
from soul_studio.bench.sync import RegionTracker, audio_envelope, crop, cross_correlate, mouth_opening

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
AUDIO_RATE = 16_000
IDENTITY_PER_SECOND = 4
SYNCNET_MAX_FRAMES = 1500  # one minute at 25 fps of 224×224 crops held in memory
CLIP_FRAMES = 8
FID_FRAMES = 48
MAX_VIDEO_CLIPS = 32


@dataclass
class TakeScores:
    """Everything measured on one take; :meth:`to_dict` is the JSON written by ``bench``."""

    take: str
    name: str
    shot_id: str = ""
    text: str = ""
    fps: float = 0.0
    frame_count: int = 0
    duration: float = 0.0
    width: int = 0
    height: int = 0
    backend: str = ""
    quality: str = ""
    sync: dict[str, Any] = field(default_factory=dict)
    syncnet: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    temporal: dict[str, Any] = field(default_factory=dict)
    image: dict[str, Any] = field(default_factory=dict)
    text_alignment: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    face_box: list[float] | None = None
    mouth_box: list[float] | None = None
    thumbnail: np.ndarray | None = field(default=None, repr=False)
    portrait_thumbnail: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("thumbnail", "portrait_thumbnail")}
        return json.loads(json.dumps(out, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _round(values: list[float] | np.ndarray, digits: int = 4) -> list[float]:
    return [round(float(v), digits) if math.isfinite(float(v)) else 0.0 for v in values]


def read_sidecar(take: Path) -> dict[str, Any]:
    path = take.with_suffix(".json")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _take_audio(take: Path, job: dict[str, Any], notes: list[str]) -> np.ndarray | None:
    """The dialogue the viewer hears: the take's own audio track, else the job's source audio."""
    try:
        return load_audio(take, AUDIO_RATE, 1).mono()
    except MediaError:
        pass
    src = job.get("audio_path")
    if src and Path(src).is_file():
        notes.append("the take has no audio track; synced against the job's source audio")
        clip = load_audio(src, AUDIO_RATE, 1, float(job.get("audio_in") or 0.0), job.get("audio_out"))
        return clip.mono()
    return None


def _box_tuple(box: Box) -> tuple[float, float, float, float]:
    return (box.x, box.y, box.w, box.h)


def _head_region(face: Box, W: int, H: int) -> tuple[float, float, float, float]:
    """The face with a little margin, kept inside the picture: what the tracker follows."""
    x0, y0 = max(0.0, face.x - 0.1 * face.w), max(0.0, face.y - 0.1 * face.h)
    x1, y1 = min(float(W), face.x + 1.1 * face.w), min(float(H), face.y + 1.1 * face.h)
    return (x0, y0, x1 - x0, y1 - y0)


@dataclass
class _Portrait:
    rgb: np.ndarray
    box: tuple[float, float, float, float]
    descriptor: np.ndarray
    learnt: np.ndarray | None


def _portrait_reference(job: dict[str, Any], models: Models, notes: list[str]) -> tuple[_Portrait | None, np.ndarray | None]:
    """The portrait's face (box, weight-free and learnt descriptors), and a thumbnail of the portrait."""
    path = job.get("portrait_path")
    if not path or not Path(path).is_file():
        notes.append("portrait not found: identity is measured against the take's first frame only")
        return None, None
    rgb = load_portrait(path)
    faces = detect_faces(rgb)
    if not faces:
        notes.append("no face found in the portrait: identity is measured against the take's first frame only")
        return None, _thumb(rgb, 240)
    box = _box_tuple(faces[0])
    learnt = models.face.embed(rgb, box) if models.face is not None else None
    return _Portrait(rgb, box, feat.face_descriptor(rgb, box), learnt), _thumb(rgb, 240)


def _thumb(rgb: np.ndarray, width: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if w <= width:
        return rgb.copy()
    return cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def _reference_features(models: Models) -> np.ndarray:
    """Inception features of the reference set: every picture, and frames spread through every movie."""
    assert models.inception is not None and models.reference is not None
    rows: list[np.ndarray] = []
    for path in sorted(models.reference.iterdir()):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            rows.append(models.inception.features(load_portrait(path)))
        elif suffix in VIDEO_SUFFIXES:
            info = probe_video(path, count_frames=False)
            step = max(1, info.frame_count // 16)
            for i, frame in enumerate(iter_frames(path)):
                if i % step == 0:
                    rows.append(models.inception.features(frame))
    if len(rows) < 2:
        raise BenchError(f"the reference folder {models.reference} holds fewer than two pictures or frames",
                         "add reference pictures or movies")
    return np.stack(rows)


def _reference_clips(models: Models) -> np.ndarray:
    """Video-network features of clips from every movie in the reference set (pictures have no motion)."""
    assert models.video is not None and models.reference is not None
    rows = [r for path in sorted(models.reference.iterdir()) if path.suffix.lower() in VIDEO_SUFFIXES
            for r in models.video.clips(iter_frames(path))]
    if len(rows) < 2:
        raise BenchError(f"the reference folder {models.reference} holds fewer than two clips of "
                         f"{models.video.clip_frames} frames for FVD", "add longer or more reference movies")
    return np.stack(rows)


def evaluate_take(take_path: str | os.PathLike[str], sidecar: dict[str, Any] | None = None,
                  models: Models | None = None, reference_features: np.ndarray | None = None,
                  reference_clips: np.ndarray | None = None) -> TakeScores:
    """Measure lip-sync, identity, temporal stability, image quality and text alignment of one take.

    ``sidecar`` defaults to the JSON beside the take (same stem); it supplies the portrait
    and the text. Raises :class:`BenchError` for a file that is not a readable movie.
    """
    take = Path(take_path)
    models = models or Models()
    try:
        info = probe_video(take, count_frames=False)
    except MediaError as exc:
        raise BenchError(f"{take.name} is not a readable take ({exc})", "check the file or render it again") from exc
    sidecar = read_sidecar(take) if sidecar is None else sidecar
    job = dict(sidecar.get("job") or {})
    fps = float(info.fps) if info.fps else float(job.get("fps") or 25.0)
    scores = TakeScores(
        take=str(take), name=take.stem, shot_id=str(job.get("shot_id", "")), text=str(job.get("text", "")),
        fps=round(fps, 4), width=info.width, height=info.height, backend=str(sidecar.get("backend", "")),
        quality=str(sidecar.get("quality", "")),
    )
    notes = scores.notes
    portrait, scores.portrait_thumbnail = _portrait_reference(job, models, notes)
    expected = max(1, info.frame_count)
    id_stride = max(1, round(fps / IDENTITY_PER_SECOND))
    clip_at = set(np.linspace(0, expected - 1, min(CLIP_FRAMES, expected)).round().astype(int).tolist())
    fid_at = set(np.linspace(0, expected - 1, min(FID_FRAMES, expected)).round().astype(int).tolist())

    opening: list[float] = []
    flick: list[float] = []
    sharp: list[float] = []
    expo: list[dict[str, float]] = []
    id_t: list[float] = []
    id_portrait: list[float] = []
    id_first: list[float] = []
    id_learnt: list[float] = []
    clip_frames: list[np.ndarray] = []
    fid_rows: list[np.ndarray] = []
    fvd_rows: list[np.ndarray] = []
    clip_buf: list[np.ndarray] = []
    crops: list[np.ndarray] = []
    first_desc = None
    tracker: RegionTracker | None = None
    face = mouth = None
    id_box: tuple[float, float, float, float] | None = None
    portrait_match: float | None = None
    prev_gray = None
    outside: np.ndarray | None = None
    n = 0
    for i, rgb in enumerate(iter_frames(take)):
        gray = feat.to_gray(rgb)
        H, W = gray.shape
        if i == 0:
            analysis = analyse_portrait(rgb, use_mesh=False)  # the Haar reading this measure was tuned on
            face, mouth = analysis.face, analysis.mouth
            scores.thumbnail = _thumb(rgb, 480)
            if face is None:
                notes.append("no face found in the first frame: lip-sync and identity are not measured")
            else:
                tracker = RegionTracker(gray, _head_region(face, W, H))
                scores.face_box = [round(v, 1) for v in _box_tuple(face)]
                id_box = _box_tuple(face)
                if portrait is not None:
                    registered, portrait_match = feat.register_face(portrait.rgb, portrait.box, rgb, id_box)
                    if portrait_match >= 0.5:
                        id_box = registered
            if mouth is not None:
                scores.mouth_box = [round(v, 1) for v in _box_tuple(mouth)]
        dx, dy = tracker.shift(gray) if tracker is not None else (0.0, 0.0)
        mouth_box = (mouth.x + dx, mouth.y + dy, mouth.w, mouth.h) if mouth is not None else None
        if mouth_box is not None:
            opening.append(mouth_opening(crop(gray, mouth_box)))
        if prev_gray is not None:
            if outside is None or outside.shape != gray.shape:
                outside = np.ones(gray.shape, bool)
            mask = outside
            if mouth_box is not None:
                mask = outside.copy()
                x, y, w, h = (int(round(v)) for v in mouth_box)
                mask[max(0, y - h // 2):max(0, y + h + h // 2), max(0, x - w // 4):max(0, x + w + w // 4)] = False
            flick.append(feat.flicker(prev_gray, gray, mask))
        prev_gray = gray
        sharp.append(feat.sharpness(gray))
        expo.append(feat.exposure(gray))
        if face is not None and i % id_stride == 0:
            # The tracked box, not a fresh detection: cascade boxes jitter by a tenth of the
            # face from frame to frame, which the descriptor would report as identity change.
            assert id_box is not None
            box = (id_box[0] + dx, id_box[1] + dy, id_box[2], id_box[3])
            desc = feat.face_descriptor(rgb, box)
            if first_desc is None:
                first_desc = desc
            id_t.append(i / fps)
            id_first.append(feat.cosine(desc, first_desc))
            if portrait is not None:
                id_portrait.append(feat.cosine(desc, portrait.descriptor))
                if models.face is not None and portrait.learnt is not None:
                    id_learnt.append(feat.cosine(models.face.embed(rgb, box), portrait.learnt))
        if models.syncnet is not None and face is not None and i < SYNCNET_MAX_FRAMES:
            from soul_studio.bench.syncnet import face_window_crop

            crops.append(face_window_crop(rgb, (face.x + dx, face.y + dy, face.w, face.h)))
        if models.clip is not None and i in clip_at:
            clip_frames.append(rgb)
        if models.inception is not None and i in fid_at:
            fid_rows.append(models.inception.features(rgb))
        if models.video is not None and len(fvd_rows) < MAX_VIDEO_CLIPS:
            clip_buf.append(models.video.prepare(rgb))
            if len(clip_buf) == models.video.clip_frames:
                fvd_rows.append(models.video.features(clip_buf))
                clip_buf = []
        n += 1
    if n == 0:
        raise BenchError(f"{take.name} holds no frames", "render it again")
    scores.frame_count = n
    scores.duration = round(n / fps, 4)
    times = np.arange(n) / fps
    scores.series["time"] = _round(times, 4)

    # ---- lip-sync
    audio = _take_audio(take, job, notes)
    if audio is None:
        scores.sync = {"note": "not computed: the take has no audio and its job names none"}
    elif mouth is None:
        scores.sync = {"note": "not computed: no face or mouth found in the first frame"}
    else:
        env = audio_envelope(audio, AUDIO_RATE, fps, n)
        result = cross_correlate(np.asarray(opening), env)
        scores.sync = result.to_dict(fps)
        scores.series["audio_envelope"] = _round(_unit(env))
        scores.series["mouth_opening"] = _round(_unit(np.asarray(opening)))
        if float(np.std(env)) < 1e-4:
            scores.sync["note"] = "the audio is silent: the correlation means nothing"
            scores.sync["reliable"] = False
    if models.syncnet is None:
        scores.syncnet = {"note": "not computed: supply SyncNet v2 weights with --syncnet"}
    elif audio is None or not crops:
        scores.syncnet = {"note": "not computed: no audio or no face in the take"}
    else:
        scores.syncnet = models.syncnet.score(crops, audio, fps)
        if n > SYNCNET_MAX_FRAMES:
            scores.syncnet["note"] = f"scored on the first {SYNCNET_MAX_FRAMES} frames"

    # ---- identity
    if id_t:
        ident: dict[str, Any] = {
            "method": "weight-free: HOG + normalised grey patch of the face crop, cosine",
            "samples": len(id_t),
            "to_first_frame_mean": round(float(np.mean(id_first)), 4),
            "to_first_frame_min": round(float(np.min(id_first)), 4),
        }
        if portrait_match is not None:
            ident["portrait_match"] = round(float(portrait_match), 4)
        scores.series["identity_time"] = _round(id_t)
        scores.series["identity_to_first"] = _round(id_first)
        if id_portrait:
            ident.update(_identity_summary(np.asarray(id_t), np.asarray(id_portrait)))
            scores.series["identity_to_portrait"] = _round(id_portrait)
        if id_learnt:
            ident["arcface"] = _identity_summary(np.asarray(id_t), np.asarray(id_learnt))
            ident["arcface"]["model"] = models.face.path.name if models.face else ""
            scores.series["identity_arcface"] = _round(id_learnt)
        else:
            ident["arcface"] = {"note": "not computed: supply ArcFace weights (.safetensors, .pth or .onnx) with --arcface"}
        scores.identity = ident
    else:
        scores.identity = {"note": "not computed: no face in the take"}

    # ---- temporal stability
    fl = np.asarray(flick) if flick else np.zeros(1)
    scores.temporal = {
        "flicker_mean": round(float(fl.mean()), 4),
        "flicker_p95": round(float(np.percentile(fl, 95)), 4),
        "flicker_max": round(float(fl.max()), 4),
        "unit": "mean |Δ luminance| per frame outside the mouth, 0-255",
    }
    if id_first:
        scores.temporal["identity_drift_to_first"] = round(1.0 - float(np.min(id_first)), 4)
    scores.series["flicker"] = _round(np.r_[0.0, fl] if flick else np.zeros(n))

    # ---- picture quality
    shp = np.asarray(sharp)
    scores.image = {
        "sharpness_mean": round(float(shp.mean()), 2),
        "sharpness_min": round(float(shp.min()), 2),
        "exposure_mean": round(float(np.mean([e["mean"] for e in expo])), 4),
        "crushed_blacks": round(float(np.mean([e["crushed"] for e in expo])), 4),
        "clipped_whites": round(float(np.mean([e["clipped"] for e in expo])), 4),
    }
    scores.series["sharpness"] = _round(shp, 2)
    if models.inception is None:
        scores.image["fid"] = {"note": "not computed: supply --inception MODEL.onnx and --reference DIR"}
    else:
        ref = reference_features if reference_features is not None else _reference_features(models)
        if len(fid_rows) < 2:
            scores.image["fid"] = {"note": "not computed: the take has fewer than two frames"}
        else:
            scores.image["fid"] = {"value": float(f"{frechet_distance(np.stack(fid_rows), ref):.6g}"),
                                   "frames": len(fid_rows), "reference": len(ref)}
    if models.video is None:
        scores.image["fvd"] = {"note": "not computed: supply --i3d FOLDER (video feature network) and --reference DIR"}
    elif len(fvd_rows) < 2:
        scores.image["fvd"] = {"note": f"not computed: the take is shorter than two clips of "
                                       f"{models.video.clip_frames} frames"}
    else:
        ref_clips = reference_clips if reference_clips is not None else _reference_clips(models)
        scores.image["fvd"] = {"value": float(f"{frechet_distance(np.stack(fvd_rows), ref_clips):.6g}"),
                               "clips": len(fvd_rows), "reference": len(ref_clips),
                               "clip_frames": models.video.clip_frames}

    # ---- text alignment
    prompt = str(job.get("prompt") or job.get("text") or "").strip()
    if models.clip is None:
        scores.text_alignment = {"note": "not computed: supply a CLIP model folder with --clip"}
    elif not prompt:
        scores.text_alignment = {"note": "not computed: the job has no prompt or text"}
    else:
        scores.text_alignment = {"clip_score": round(models.clip.score(clip_frames, prompt), 3),
                                 "text": prompt, "frames": len(clip_frames)}
    return scores


def _unit(values: np.ndarray) -> np.ndarray:
    """Scale to 0..1 (for plotting two signals on one axis)."""
    v = np.asarray(values, np.float64)
    lo, hi = float(np.min(v)), float(np.max(v))
    return (v - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(v)


def _identity_summary(t: np.ndarray, sim: np.ndarray) -> dict[str, Any]:
    """Mean and worst similarity, and how it drifts: slope per minute and start-versus-end drop."""
    k = max(1, len(sim) // 10)
    out = {
        "to_portrait_mean": round(float(sim.mean()), 4),
        "to_portrait_min": round(float(sim.min()), 4),
        "drift_start_to_end": round(float(sim[:k].mean() - sim[-k:].mean()), 4),
    }
    if len(sim) >= 3 and float(np.ptp(t)) > 0:
        out["drift_per_minute"] = round(float(-np.polyfit(t, sim, 1)[0] * 60.0), 4)
    return out


def find_takes(folder: str | os.PathLike[str]) -> list[Path]:
    """Movies directly inside ``folder`` (no hidden or partial files), in name order."""
    root = Path(folder)
    return sorted(p for p in root.iterdir()
                  if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and ".partial" not in p.name)


def evaluate_folder(folder: str | os.PathLike[str], models: Models | None = None,
                    on_take: Callable[[Path, TakeScores | None, str | None], None] | None = None,
                    ) -> tuple[list[TakeScores], dict[str, str]]:
    """Evaluate every take in ``folder``; returns the scores and an error message per failed take."""
    models = models or Models()
    takes = find_takes(folder)
    ref = _reference_features(models) if models.inception is not None else None
    ref_clips = _reference_clips(models) if models.video is not None else None
    results: list[TakeScores] = []
    errors: dict[str, str] = {}
    for path in takes:
        try:
            scores = evaluate_take(path, models=models, reference_features=ref, reference_clips=ref_clips)
        except (BenchError, MediaError) as exc:
            errors[path.name] = str(exc)
            if on_take:
                on_take(path, None, str(exc))
            continue
        results.append(scores)
        if on_take:
            on_take(path, scores, None)
    return results, errors


def write_results(scores: list[TakeScores], out_dir: str | os.PathLike[str], errors: dict[str, str] | None = None) -> Path:
    """Write ``results.json`` (every take's numbers and series) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    data = {"takes": [s.to_dict() for s in scores], "errors": dict(errors or {})}
    tmp = path.with_name(".results.json.partial")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = ["TakeScores", "evaluate_folder", "evaluate_take", "find_takes", "read_sidecar", "write_results"]
