"""Turn a folder of footage into a talking-head dataset: shots, faces, sync, quality, clips.

One source movie is read twice. The first pass keeps per-frame signatures for cut
detection and, a few times a second, the faces and the sharpness. Shots that pass the
cheap filters (duration, resolution, a face, sharpness) are cut in the second pass:
their frames stream into a :class:`~engine.media.VideoWriter` with the shot's audio
while the mouth of every face track is measured; at the end of the shot the weight-free
sync measure picks the active speaker and decides whether the clip is kept (the writer
closes, the clip appears) or rejected (the writer aborts, nothing appears).

The manifest (``manifest.jsonl``, one clip per line) is written by the parent process
only, all lines of a source at once after the source is finished; a source listed there
is done and skipped on the next run. A crash mid-source leaves no line for it and its
finished clips are removed when it is processed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from engine.backends.sketch.face import Box, estimate_mouth
from engine.media import MediaError, VideoWriter, iter_frames, load_audio, probe_video
from engine.media.audio import DELIVERY_RATE
from soul_studio.annotate.faces import Track, detect_people, framing_class, steady_tracks, track_faces
from soul_studio.annotate.shots import detect_cuts, frame_distances, frame_signature, shots_from_cuts
from soul_studio.bench.features import sharpness, to_gray
from soul_studio.bench.sync import RegionTracker, audio_envelope, crop, cross_correlate, mouth_opening

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm")
MANIFEST = "manifest.jsonl"
SYNC_RATE = 16_000


@dataclass(frozen=True)
class AnnotateConfig:
    """Filter thresholds; the defaults suit talking-head training clips."""

    min_seconds: float = 1.0
    min_height: int = 128
    min_sharpness: float = 12.0  # variance of the Laplacian at 256 px wide, in the face
    max_offset_frames: int = 3
    min_sync_confidence: float = 0.3
    face_samples_per_second: float = 5.0
    codec: str = "h264"


def source_key(rel: str) -> str:
    """A file-name-safe, collision-free name for a source (its stem plus a short hash of its path)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(rel).stem)[:40] or "source"
    return f"{stem}_{hashlib.sha1(rel.encode('utf-8')).hexdigest()[:8]}"


def _rejected(base: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**base, "clip": None, "kept": False, "reason": reason}


def annotate_source(path: str | os.PathLike[str], rel: str, dataset: str | os.PathLike[str],
                    config: AnnotateConfig | None = None, captioner: str | None = None) -> list[dict[str, Any]]:
    """Annotate one movie; returns its manifest records (one per shot, kept or rejected)."""
    config = config or AnnotateConfig()
    src = Path(path)
    clips_dir = Path(dataset) / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    key = source_key(rel)
    for old in clips_dir.glob(f"{key}_*"):  # finished clips of an earlier, interrupted run
        old.unlink(missing_ok=True)
    base_src = {"source": rel, "source_path": str(src.resolve())}
    try:
        info = probe_video(src, count_frames=False)
    except MediaError as exc:
        return [_rejected({**base_src, "shot": None}, f"unreadable: {exc}")]
    fps = float(info.fps) if info.fps else 25.0
    stride = max(1, int(round(fps / config.face_samples_per_second)))

    # ---- pass 1: signatures for cuts; faces and sharpness on sampled frames
    distances: list[float] = []
    previous = None
    samples: list[tuple[int, list[tuple[float, float, float, float]]]] = []
    sharp: dict[int, float] = {}
    try:
        for i, rgb in enumerate(iter_frames(src)):
            gray = to_gray(rgb)
            signature = frame_signature(gray)
            # Only the change from the previous frame is kept: memory stays flat for long footage.
            distances.append(float(frame_distances([previous, signature])[1]) if previous is not None else 0.0)
            previous = signature
            if i % stride == 0:
                faces = detect_people(rgb)
                samples.append((i, faces))
                region = crop(gray, faces[0]) if faces else gray
                sharp[i] = sharpness(region) if min(region.shape) >= 8 else sharpness(gray)
    except MediaError as exc:
        return [_rejected({**base_src, "shot": None}, f"unreadable: {exc}")]
    n = len(distances)
    if n == 0:
        return [_rejected({**base_src, "shot": None}, "no frames")]
    cuts = detect_cuts(np.asarray(distances), fps)
    shots = shots_from_cuts(cuts, n)
    try:
        audio16 = load_audio(src, SYNC_RATE, 1).mono()
    except MediaError:
        audio16 = None

    # ---- per shot: faces, framing and the cheap filters
    plans: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for index, (a, b) in enumerate(shots):
        shot_samples = [s for s in samples if a <= s[0] < b]
        tracks = steady_tracks(track_faces(shot_samples), len(shot_samples))
        tracks.sort(key=lambda t: -t.median_box()[2] * t.median_box()[3])
        shot_sharp = [v for f, v in sharp.items() if a <= f < b]
        record: dict[str, Any] = {
            **base_src, "shot": index, "start_frame": a, "end_frame": b,
            "start_s": round(a / fps, 4), "end_s": round(b / fps, 4), "fps": round(fps, 4),
            "width": info.width, "height": info.height,
            "framing": framing_class(tracks, info.height), "face_count": len(tracks),
            "faces": [{"track": t.track_id, "box": [round(v, 4) for v in _normalised(t.median_box(), info.width, info.height)],
                       "coverage": round(len(t.frames) / max(1, len(shot_samples)), 3)} for t in tracks],
            "quality": {"sharpness": round(float(np.median(shot_sharp)), 2) if shot_sharp else 0.0,
                        "duration_s": round((b - a) / fps, 4), "resolution": [info.width, info.height]},
            "active_speaker": None, "sync": None, "caption": None,
        }
        reason = None
        if (b - a) / fps < config.min_seconds:
            reason = f"too short ({(b - a) / fps:.2f} s < {config.min_seconds:g} s)"
        elif info.height < config.min_height:
            reason = f"low resolution ({info.width}x{info.height})"
        elif not tracks:
            reason = "no face"
        elif record["quality"]["sharpness"] < config.min_sharpness:
            reason = f"blurry (sharpness {record['quality']['sharpness']:.1f} < {config.min_sharpness:g})"
        elif audio16 is None:
            reason = "no audio"
        if reason:
            records.append(_rejected(record, reason))
        else:
            plans.append({"record": record, "tracks": tracks, "range": (a, b)})

    # ---- pass 2: cut the surviving shots while measuring every mouth
    if plans:
        _cut_clips(src, plans, clips_dir, key, fps, info.width, info.height, audio16, config, captioner)
        records.extend(p["record"] for p in plans)
    records.sort(key=lambda r: (r.get("shot") is None, r.get("shot") or 0))
    return records


def _normalised(box: tuple[float, float, float, float], W: int, H: int) -> tuple[float, float, float, float]:
    return (box[0] / W, box[1] / H, box[2] / W, box[3] / H)


def _cut_clips(src: Path, plans: list[dict[str, Any]], clips_dir: Path, key: str, fps: float, W: int, H: int,
               audio16: np.ndarray, config: AnnotateConfig, captioner: str | None) -> None:
    caption_model = None
    if captioner:
        from soul_studio.annotate.captions import Captioner

        caption_model = Captioner(captioner)
    starts = {p["range"][0]: p for p in plans}
    current: dict[str, Any] | None = None
    writer: VideoWriter | None = None
    even_w, even_h = W - W % 2, H - H % 2
    try:
        for i, rgb in enumerate(iter_frames(src)):
            if current is None and i in starts:
                current = starts[i]
                a, b = current["range"]
                name = f"{key}_{current['record']['shot']:03d}.mp4"
                clip_audio = load_audio(src, DELIVERY_RATE, None, a / fps, b / fps).fit_duration((b - a) / fps)
                writer = VideoWriter(clips_dir / name, fps, even_w, even_h, codec=config.codec, audio=clip_audio,
                                     overwrite=True)
                current["name"] = name
                current["mouths"] = {t.track_id: [] for t in current["tracks"]}
                current["middle"] = None
                current["rigs"] = [_mouth_rig(rgb, t, a) for t in current["tracks"]]
            if current is None or writer is None:
                continue
            a, b = current["range"]
            gray = to_gray(rgb)
            for t, (tracker, mouth) in zip(current["tracks"], current["rigs"]):
                dx, dy = tracker.shift(gray)
                box = (mouth[0] + dx, mouth[1] + dy, mouth[2], mouth[3])
                current["mouths"][t.track_id].append(mouth_opening(crop(gray, box)))
            if i == (a + b) // 2:
                current["middle"] = rgb
            writer.write(rgb[:even_h, :even_w])
            if i == b - 1:
                _finish(current, writer, audio16, fps, config, caption_model)
                current, writer = None, None
    finally:
        if writer is not None:  # the source ended early or something failed: no partial clip
            writer.abort()
            if current is not None:
                current["record"].update(clip=None, kept=False, reason="source ended before the shot did")


def _mouth_rig(rgb: np.ndarray, track: Track, frame: int) -> tuple[RegionTracker, tuple[float, float, float, float]]:
    """Where one face's mouth is at the shot's first frame, and a tracker that follows the face.

    The face box has the track's median size (cascade sizes jitter from sample to sample)
    centred where the track is at this frame; the mouth is placed on the lip seam inside
    it, then rides along with the face's phase-correlation shift, frame by frame.
    """
    H, W = rgb.shape[:2]
    x, y, w, h = track.box_at(frame)
    mw, mh = track.median_box()[2:]
    face = Box(x + (w - mw) / 2, y + (h - mh) / 2, mw, mh)
    mouth = estimate_mouth(rgb, face)
    x0, y0 = max(0.0, face.x - 0.1 * face.w), max(0.0, face.y - 0.1 * face.h)
    x1, y1 = min(float(W), face.x + 1.1 * face.w), min(float(H), face.y + 1.1 * face.h)
    tracker = RegionTracker(to_gray(rgb), (x0, y0, x1 - x0, y1 - y0))
    return tracker, (mouth.x, mouth.y, mouth.w, mouth.h)


def _finish(plan: dict[str, Any], writer: VideoWriter, audio16: np.ndarray, fps: float, config: AnnotateConfig,
            caption_model: Any) -> None:
    """Score sync per face, choose the active speaker, then keep (close) or reject (abort) the clip."""
    a, b = plan["range"]
    record = plan["record"]
    segment = audio16[int(round(a / fps * SYNC_RATE)):int(round(b / fps * SYNC_RATE))]
    env = audio_envelope(segment, SYNC_RATE, fps, b - a)
    best: tuple[float, Track, Any] | None = None
    for face, t in zip(record["faces"], plan["tracks"]):
        result = cross_correlate(np.asarray(plan["mouths"][t.track_id]), env)
        face["sync_offset"] = result.offset_frames
        face["sync_confidence"] = round(result.confidence, 4)
        if best is None or result.confidence > best[0]:
            best = (result.confidence, t, result)
    assert best is not None
    _, speaker, result = best
    record["sync"] = {"offset_frames": result.offset_frames, "confidence": round(result.confidence, 4),
                      "margin": round(result.margin, 4), "in_sync_correlation": round(result.in_sync, 4)}
    silent = float(np.sqrt(np.mean(np.square(segment)))) < 1e-3 if segment.size else True
    reason = None
    if silent:
        reason = "silent audio"
    elif result.confidence < config.min_sync_confidence or result.margin < 0.15:
        reason = f"no audio-visual sync (confidence {result.confidence:.2f})"
    elif abs(result.offset_frames) > config.max_offset_frames:
        reason = f"audio-visual offset {result.offset_frames:+d} frames"
    else:
        record["active_speaker"] = speaker.track_id
    if reason:
        writer.abort()
        record.update(clip=None, kept=False, reason=reason)
        return
    writer.close()
    record.update(clip=f"clips/{plan['name']}", kept=True, reason=None)
    if caption_model is not None and plan.get("middle") is not None:
        record["caption"] = caption_model.caption(plan["middle"])


# ---------------------------------------------------------------- manifest and folders
def read_manifest(dataset: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of the manifest; a torn last line (a crash while appending) is ignored."""
    path = Path(dataset) / MANIFEST
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _append(dataset: Path, records: list[dict[str, Any]]) -> None:
    path = dataset / MANIFEST
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                text = "\n" + text  # close a torn line before adding whole ones
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def find_sources(footage: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """Movies under ``footage`` (recursively), with their paths relative to it."""
    root = Path(footage)
    found = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
             and not p.name.startswith(".")]
    return [(p, p.relative_to(root).as_posix()) for p in sorted(found)]


def _clean_partials(clips_dir: Path) -> None:
    if clips_dir.is_dir():
        for p in clips_dir.glob(".*.partial.*"):
            p.unlink(missing_ok=True)


@dataclass
class AnnotateSummary:
    sources: int
    skipped: int
    failed: dict[str, str]
    clips: int
    kept: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def annotate_folder(footage: str | os.PathLike[str], dataset: str | os.PathLike[str], workers: int = 1,
                    config: AnnotateConfig | None = None, captioner: str | None = None,
                    on_source: Callable[[str, list[dict[str, Any]] | None, str | None], None] | None = None,
                    ) -> AnnotateSummary:
    """Annotate every movie in ``footage`` not yet in the manifest, ``workers`` files at a time."""
    out = Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    _clean_partials(out / "clips")
    done = {r.get("source") for r in read_manifest(out)}
    sources = find_sources(footage)
    pending = [(p, rel) for p, rel in sources if rel not in done]
    summary = AnnotateSummary(sources=len(sources), skipped=len(sources) - len(pending), failed={}, clips=0, kept=0)

    def record(rel: str, records: list[dict[str, Any]] | None, error: str | None) -> None:
        if records is not None:
            _append(out, records)
            summary.clips += len(records)
            summary.kept += sum(1 for r in records if r.get("kept"))
        else:
            summary.failed[rel] = error or "failed"
        if on_source:
            on_source(rel, records, error)

    if workers <= 1 or len(pending) <= 1:
        for p, rel in pending:
            try:
                record(rel, annotate_source(p, rel, out, config, captioner), None)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the folder
                record(rel, None, f"{type(exc).__name__}: {exc}")
        return summary
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(annotate_source, p, rel, str(out), config, captioner): rel for p, rel in pending}
        for future in as_completed(futures):
            rel = futures[future]
            try:
                record(rel, future.result(), None)
            except Exception as exc:  # noqa: BLE001
                record(rel, None, f"{type(exc).__name__}: {exc}")
    return summary


__all__ = ["AnnotateConfig", "AnnotateSummary", "annotate_folder", "annotate_source", "find_sources",
           "read_manifest", "source_key"]
