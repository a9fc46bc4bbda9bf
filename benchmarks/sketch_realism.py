"""Sketch realism: real photographs speaking real speech, judged on the rendered frames.

Photographs (engine/media/samples.py has sources and licences): scikit-image's astronaut
at several sizes, rotated +/-20 degrees, off the centre and in grayscale; matplotlib's
Grace Hopper; and a group picture of both, in which the second face is asked to speak.
Speech: espeak-ng voices (two phrases with a pause between) and the recorded voice that
Debian's alsa-utils ships. Every case renders at 1280x720 final quality into H.264 and
is decoded back; a fresh face mesh runs on the decoded frames (none of the backend's
own numbers), and frame differences locate what was animated. Metrics:

- mouth_position_error: distance from the opened mouth (the dark region that appears)
  to the centre of the lips the mesh finds in the same frame, in mouth widths (goal <= 0.1)
- wrong_face_count: cases whose animated mouth lies outside the face asked for (goal 0)
- lip_open_corr: correlation of the measured lip opening with the speech envelope (>= 0.7),
  at the best lag within +-3 frames (lips lead the sound they shape; the lag is reported);
  jaw_open_corr the same for the jaw (nose tip to lower lip), which M/B/P closures and a
  photo resting with parted lips do not disturb
- silence_rest: share of pause frames with the lips back at their rest opening
- blinks_per_10s, blink_brow_shift (brow movement during blinks, mouth widths)
- head_jerk_p99_px: 99th percentile of the head's frame-to-frame change of velocity at
  720p (goal <= 1.5), the head followed by phase correlation of the forehead; the same
  from the mesh's landmarks (head_jerk_mesh_p99_px) beside the mesh's own noise floor
  on a still clip
- realtime_factor_720p: video seconds per wall second, encoding included

Also writes a contact sheet (benchmarks/results/sketch_realism_sheet.png): per photo,
the frames at the speech peak, a rounded vowel, a closed mouth, a blink and a pause.
``--full`` crosses every photo with every voice.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine.media.samples as samples  # noqa: E402
from engine.backends.base import RenderContext  # noqa: E402
from engine.backends.sketch.backend import SketchBackend, load_dialogue, plan_mouth  # noqa: E402
from engine.jobs import JobSpec  # noqa: E402
from engine.media import AudioClip, VideoWriter, iter_frames, load_audio, save_image, write_audio  # noqa: E402
from soul_studio.bench import face_track as ft  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sketch_realism.json"
SHEET = ROOT / "benchmarks" / "results" / "sketch_realism_sheet.png"
FPS = 25.0
SIZE = (1280, 720)
PHRASES = ("Hello, my name is Eileen.", "Who knew Bob would pop the blue map?")
VOICES = ("en-us", "en-gb+f3", "en-us+m3")


def photos() -> list[tuple[str, np.ndarray, int | None]]:
    """(name, picture, face to animate) for every case; None lets the backend choose."""
    a, g = samples.astronaut(), samples.grace_hopper()
    return [
        ("astronaut_512", a, None),
        ("astronaut_1024", samples.variant(a, size=1024), None),
        ("astronaut_rot+20", samples.variant(a, rotate=20), None),
        ("astronaut_rot-20", samples.variant(a, rotate=-20), None),
        ("astronaut_offcentre", samples.variant(a, crop="left"), None),
        ("astronaut_gray", samples.variant(a, gray=True), None),
        ("grace_hopper", g, None),
        ("group_face2", samples.group_photo([a, g]), 1),
    ]


def espeak_line(work: Path, voice: str) -> AudioClip:
    """Two espeak-ng phrases with a pause between them, silence around, at 48 kHz."""
    parts = [np.zeros(int(0.4 * 48_000), np.float32)]
    for i, text in enumerate(PHRASES):
        wav = samples.espeak_speech(text, work / f"{voice}_{i}.wav", voice=voice)
        parts.append(load_audio(wav, 48_000, 1).samples[0])
        parts.append(np.zeros(int(0.9 * 48_000), np.float32))
    return AudioClip(np.concatenate(parts)[None, :], 48_000)


def alsa_line() -> AudioClip:
    """The recorded "front center" voice, said twice with a pause."""
    voice = load_audio(samples.alsa_recording("Front_Center"), 48_000, 1).samples[0]
    gap = np.zeros(int(0.8 * 48_000), np.float32)
    return AudioClip(np.concatenate([gap[: 48_000 // 3], voice, gap, voice, gap])[None, :], 48_000)


def render(work: Path, name: str, rgb: np.ndarray, clip: AudioClip, face_index: int | None,
           seed: int) -> tuple[Path, dict, float, JobSpec]:
    portrait = work / f"{name}.png"
    save_image(portrait, rgb)
    audio = work / f"{name}.wav"
    write_audio(audio, clip)
    out = work / f"{name}.mp4"
    duration = clip.num_samples / clip.sample_rate
    job = JobSpec(shot_id=name, portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=FPS,
                  width=SIZE[0], height=SIZE[1], output_path=str(out), quality="final", framing="portrait",
                  seed=seed, options={} if face_index is None else {"face_index": face_index})
    start = time.perf_counter()
    with VideoWriter(out, FPS, SIZE[0], SIZE[1], codec="h264_take", audio=clip) as writer:
        meta = SketchBackend().render(job, writer, RenderContext())
    return out, meta, duration / (time.perf_counter() - start), job


def _cavity(rest: np.ndarray, frame: np.ndarray, below: float = 0.0) -> tuple[float, float] | None:
    """Centroid of the largest region that turned much darker than at rest (the opened mouth)."""
    darker = ((rest.astype(np.int16) - frame.astype(np.int16)).max(axis=2) > 40) & (frame.max(axis=2) < 90)
    darker[: max(0, int(below))] = False  # under the nose only: a blink's lashes are no mouth
    darker = cv2.morphologyEx(darker.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(darker)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[k, cv2.CC_STAT_AREA] < 12:
        return None
    return float(centroids[k][0]), float(centroids[k][1])


def _silent_runs(env_db: np.ndarray, min_len: int) -> np.ndarray:
    """Frames inside pauses at least ``min_len`` long, after a 4-frame release."""
    silent = env_db < env_db.max() - 40
    out = np.zeros_like(silent)
    i = 0
    while i < len(silent):
        if silent[i]:
            j = i
            while j < len(silent) and silent[j]:
                j += 1
            if j - i >= min_len:
                out[i + 4: j] = True
            i = j
        else:
            i += 1
    return out


def measure(out: Path, clip: AudioClip, meta: dict, job: JobSpec) -> tuple[dict, list[np.ndarray], ft.FaceTrack]:
    frames = list(iter_frames(out))
    n = len(frames)
    count = int(meta["face"]["count"] or 1)
    # Which real face should speak: number the output's faces left to right, as the user sees them.
    near = None
    if count > 1:
        from engine.backends.sketch.mesh import load_solutions

        _, face_mesh, _ = load_solutions()
        with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=count, refine_landmarks=True) as m:
            found = m.process(frames[0]).multi_face_landmarks or []
        H, W = frames[0].shape[:2]
        centres = sorted(np.array([(p.x * W, p.y * H) for p in f.landmark])[[61, 291]].mean(axis=0).tolist()
                         for f in found)
        k = int(job.options.get("face_index", 0))
        near = tuple(centres[min(k, len(centres) - 1)]) if centres else None
    track = ft.measure_frames(frames, near=near, max_faces=count)
    mono = clip.samples.mean(axis=0)
    env = ft.speech_envelope(mono, clip.sample_rate, FPS, n)
    rest = track.lip_open[-1]  # every line ends in silence: the photo's own mouth
    # Position of the opened mouth against the real lips, on the frames open the most.
    opening = np.nan_to_num(track.lip_open - rest, nan=-1)
    errors, wrong = [], 0
    for i in np.argsort(-opening)[:8]:
        if opening[i] < 0.05:
            continue
        c = _cavity(frames[-1], frames[i], below=track.points[i][1, 1] if track.points[i] is not None else 0.0)
        if c is None or not np.isfinite(track.mouth_width[i]):
            continue
        err = float(np.hypot(c[0] - track.mouth_centre[i, 0], c[1] - track.mouth_centre[i, 1]) / track.mouth_width[i])
        errors.append(err)
    if errors and np.median(errors) > 0.5:
        wrong = 1
    ok = np.isfinite(track.lip_open)
    speech = np.clip(env, env.max() - 40, None)
    corr, lag = ft.lagged_corr(track.lip_open, speech)
    jaw_corr, _ = ft.lagged_corr(track.jaw_open, speech)
    pauses = _silent_runs(env, 8) & ok
    rest_frames = np.abs(track.lip_open - rest) <= 0.03
    silence_rest = float(rest_frames[pauses].mean()) if pauses.any() else float("nan")
    duration = n / FPS
    blink_count = ft.blinks(track.eye_open, FPS)
    shut = track.eye_open < 0.6 * np.nanmedian(track.eye_open)
    brow_shift = float(np.nanmax(np.abs(track.brow_y[shut] - np.nanmedian(track.brow_y)))) if shut.any() else 0.0
    jerk = ft.jerk_px(ft.forehead_path(frames, track.points[0])) if track.points[0] is not None else np.zeros(0)
    mesh_jerk = ft.jerk_px(track.head)
    result = {
        "mouth_position_error": round(float(np.median(errors)), 3) if errors else None,
        "wrong_face": wrong,
        "lip_open_corr": round(corr, 3),
        "lip_lead_frames": lag,
        "jaw_open_corr": round(jaw_corr, 3),
        "silence_rest": round(silence_rest, 3),
        "blinks_per_10s": round(10 * blink_count / duration, 2),
        "blink_brow_shift": round(brow_shift, 3),
        "head_jerk_p99_px": round(float(np.percentile(jerk, 99)), 3) if len(jerk) else None,
        "head_jerk_mesh_p99_px": round(float(np.percentile(mesh_jerk, 99)), 3) if len(mesh_jerk) else None,
        "faces_found": count,
        "face_animated": meta["face"]["index"],
        "mesh_frames": round(float(ok.mean()), 3),
    }
    return result, frames, track


def noise_floor(frame: np.ndarray) -> float:
    """The mesh's own jerk on a still picture (what the head metric cannot go below)."""
    rng = np.random.default_rng(0)
    still = [np.clip(frame.astype(np.int16) + rng.integers(-2, 3, frame.shape), 0, 255).astype(np.uint8)
             for _ in range(40)]
    return float(np.percentile(ft.jerk_px(ft.measure_frames(still).head), 99))


def pick_frames(frames: list[np.ndarray], track: ft.FaceTrack, job: JobSpec, clip: AudioClip) -> dict[str, int]:
    """Frames for the contact sheet (choosing frames may use the backend's plan; judging may not)."""
    n = len(frames)
    mouth = plan_mouth(job, load_dialogue(job))
    env = ft.speech_envelope(clip.samples.mean(axis=0), clip.sample_rate, FPS, n)
    speaking = env > env.max() - 25
    lip = np.nan_to_num(track.lip_open, nan=0.0)
    picks = {"speech peak": int(np.argmax(lip))}
    width = np.asarray(mouth.width[:n])
    rounded = np.where(speaking & (np.asarray(mouth.open[:n]) > 0.25), width, np.inf)
    picks["rounded vowel"] = int(np.argmin(rounded))
    press = getattr(mouth, "press", None)
    if press is not None and np.max(press[:n]) > 0.5:
        picks["closed M/B/P"] = int(np.argmax(np.asarray(press[:n]) * speaking))
    else:
        inside = np.flatnonzero(speaking)
        span = slice(inside[0], inside[-1]) if len(inside) else slice(0, n)
        picks["closed M/B/P"] = int(span.start + np.argmin(lip[span]))
    picks["blink"] = int(np.nanargmin(track.eye_open))
    pauses = np.flatnonzero(_silent_runs(env, 8))
    picks["pause"] = int(pauses[len(pauses) // 2]) if len(pauses) else 0
    return picks


def contact_sheet(rows: list[tuple[str, dict[str, np.ndarray], ft.FaceTrack]], path: Path) -> None:
    tile = 220
    labels = list(rows[0][1].keys())
    sheet_rows = []
    header = np.full((28, tile * (len(labels) + 1), 3), 255, np.uint8)
    for j, label in enumerate(labels):
        cv2.putText(header, label, (tile * (j + 1) + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    sheet_rows.append(header)
    for name, picked, track in rows:
        ok = np.isfinite(track.mouth_width)
        width = float(np.nanmedian(track.mouth_width)) if ok.any() else 80.0
        cx, cy = np.nanmedian(track.mouth_centre[:, 0]), np.nanmedian(track.mouth_centre[:, 1])
        half = int(1.9 * width)
        cy = cy - 0.6 * width
        cells = []
        label = np.full((tile, tile, 3), 255, np.uint8)
        for k, part in enumerate(name.split("_")):
            cv2.putText(label, part, (8, 40 + 26 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        cells.append(label)
        for key in labels:
            f = picked[key]
            H, W = f.shape[:2]
            x0, y0 = int(np.clip(cx - half, 0, W - 2 * half)), int(np.clip(cy - half, 0, H - 2 * half))
            cells.append(cv2.resize(f[y0: y0 + 2 * half, x0: x0 + 2 * half], (tile, tile), interpolation=cv2.INTER_AREA))
        sheet_rows.append(np.hstack(cells))
    sheet = np.vstack(sheet_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the committed sheet a few hundred kilobytes.
    from PIL import Image

    Image.fromarray(sheet).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every photo with every voice")
    parser.add_argument("--no-sheet", action="store_true")
    args = parser.parse_args(argv)
    cases_out: dict[str, dict] = {}
    sheet_rows = []
    rtf = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        voices = {v: espeak_line(work, v) for v in VOICES}
        voices["alsa_recording"] = alsa_line()
        names = list(voices)
        floor = None
        for i, (name, rgb, face_index) in enumerate(photos()):
            chosen = names if args.full else [names[i % len(VOICES)]] + (["alsa_recording"] if i in (0, 6) else [])
            for voice in chosen:
                case = f"{name}/{voice}"
                out, meta, speed, job = render(work, f"{name}_{voice}".replace("+", "p"), rgb, voices[voice],
                                               face_index, seed=i + 1)
                rtf.append(speed)
                result, frames, track = measure(out, voices[voice], meta, job)
                result["realtime_factor_720p"] = round(speed, 3)
                cases_out[case] = result
                print(f"{case}: {result}")
                if floor is None:
                    floor = noise_floor(frames[0])
                if voice != "alsa_recording" and name in ("astronaut_512", "astronaut_rot+20", "astronaut_gray",
                                                          "grace_hopper", "group_face2"):
                    picks = pick_frames(frames, track, job, voices[voice])
                    sheet_rows.append((name, {k: frames[v] for k, v in picks.items()}, track))
                del frames
                os.unlink(out)
    values = list(cases_out.values())

    def col(key: str) -> np.ndarray:
        return np.array([v[key] for v in values if v[key] is not None], np.float64)

    metrics = {
        "mouth_position_error_max": round(float(np.nanmax(col("mouth_position_error"))), 3),
        "mouth_position_error_median": round(float(np.nanmedian(col("mouth_position_error"))), 3),
        "wrong_face_count": int(col("wrong_face").sum()),
        "lip_open_corr_median": round(float(np.nanmedian(col("lip_open_corr"))), 3),
        "lip_open_corr_min": round(float(np.nanmin(col("lip_open_corr"))), 3),
        "jaw_open_corr_median": round(float(np.nanmedian(col("jaw_open_corr"))), 3),
        "silence_rest_median": round(float(np.nanmedian(col("silence_rest"))), 3),
        "silence_rest_min": round(float(np.nanmin(col("silence_rest"))), 3),
        "blinks_per_10s": round(float(np.mean(col("blinks_per_10s"))), 2),
        "blink_brow_shift_max": round(float(np.max(col("blink_brow_shift"))), 3),
        "head_jerk_p99_px": round(float(np.nanmax(col("head_jerk_p99_px"))), 3),
        "head_jerk_p99_px_median": round(float(np.nanmedian(col("head_jerk_p99_px"))), 3),
        "head_jerk_mesh_p99_px": round(float(np.nanmax(col("head_jerk_mesh_p99_px"))), 3),
        "mesh_noise_jerk_p99_px": round(float(floor or 0.0), 3),
        "realtime_factor_720p": round(float(np.median(rtf)), 3),
        "cases": len(values),
    }
    result = {
        "benchmark": "sketch_realism",
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.1f} (shared machine)",
        "params": {"size": list(SIZE), "fps": FPS, "quality": "final", "codec": "h264_take", "framing": "portrait",
                   "photos": [p[0] for p in photos()], "voices": names, "phrases": list(PHRASES), "full": args.full},
        "metrics": metrics,
        "cases": cases_out,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if sheet_rows and not args.no_sheet:
        contact_sheet(sheet_rows, SHEET)
        print(f"wrote {SHEET}")
    print(json.dumps(metrics, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
