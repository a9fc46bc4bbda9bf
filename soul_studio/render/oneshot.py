"""``soul-studio shot``: one portrait and one line of dialogue straight to a take, no project.

The inputs become a one-shot scene in memory and go through the same planner, engine
process and take writer as ``soul-studio render``, so the movie and its JSON sidecar are
exactly what the studio would make. The take is written under a hidden name beside the
output and moved into place only when it is complete: a failed or cancelled render
leaves no file, and an existing output is replaced only with ``--force``.

Exit codes: 0 the take was written, 1 the render failed or was cancelled, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomic import NAME_MAX, fit_name
from engine.jobs import JobSpec
from engine.timebase import SUPPORTED_FPS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FRAMINGS = ("portrait", "upper_body", "full_body")


class UsageError(ValueError):
    """Bad command-line input; the message says what to pass instead."""


@dataclass
class ShotRequest:
    """The command line, checked: absolute paths and parsed values."""

    portrait: Path
    audio: Path
    out: Path
    text: str = ""
    quality: str = "final"
    fps: float = 24.0
    size: tuple[int, int] | None = None
    framing: str = "portrait"
    face: int | None = None  # 1-based, as the user counts faces (left to right)
    mouth_box: tuple[float, float, float, float] | None = None
    backend: str = "sketch"
    seed: int = 0

    @property
    def name(self) -> str:
        """The shot's name in messages: the dialogue file's stem."""
        return self.audio.stem


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "shot", help="render one portrait speaking one line to a movie (no project needed)",
        description="Render PORTRAIT speaking AUDIO into a take (movie plus JSON sidecar), "
                    "through the same engine as the studio.")
    p.add_argument("portrait", type=Path, help="photo or painting of the speaker")
    p.add_argument("audio", type=Path, help="the dialogue recording (WAV, MP3, M4A, FLAC, OGG)")
    p.add_argument("--text", default="", help="the line as written; aligns the mouth shapes to its words")
    p.add_argument("--out", type=Path, default=None, help="output movie (.mp4; default: AUDIO's name in this folder)")
    p.add_argument("--quality", choices=("draft", "final"), default="final")
    p.add_argument("--fps", type=float, default=24.0, help=f"frame rate: one of {', '.join(map(str, SUPPORTED_FPS))}")
    p.add_argument("--size", default=None, metavar="WxH", help="frame size, e.g. 1280x720 (default 1280x720; half for drafts)")
    p.add_argument("--framing", choices=FRAMINGS, default="portrait")
    p.add_argument("--face", type=int, default=None, metavar="N",
                   help="which face speaks when the photo has several: 1 is the leftmost")
    p.add_argument("--mouth-box", default=None, metavar="X,Y,W,H",
                   help="place the mouth by hand: fractions of the portrait (0-1) or pixels")
    p.add_argument("--backend", choices=("sketch", "soul", "infinitetalk"), default="sketch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace OUT when it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


# ------------------------------------------------------------------ parsing
def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; both even and at least 16."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (int(v) for v in parts)
    except ValueError:
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT: pass e.g. --size 1280x720") from None
    if w < 16 or h < 16 or w % 2 or h % 2 or w > 8192 or h > 8192:
        raise UsageError(f"--size {text!r}: width and height must be even numbers from 16 to 8192")
    return w, h


def parse_mouth_box(text: str, portrait_size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    """``"x,y,w,h"`` as fractions of the portrait; pixel values are divided by its size."""
    try:
        x, y, w, h = (float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise UsageError(f"--mouth-box {text!r} is not four numbers: pass --mouth-box x,y,w,h") from None
    if max(x, y, w, h) > 1.0:
        if portrait_size is None:
            raise UsageError("--mouth-box in pixels needs a readable portrait")
        pw, ph = portrait_size
        x, y, w, h = x / pw, y / ph, w / pw, h / ph
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > 1.0001 or y + h > 1.0001:
        raise UsageError(f"--mouth-box {text!r} lies outside the portrait: give x,y,w,h inside it")
    return (round(x, 4), round(y, 4), round(w, 4), round(h, 4))


def _portrait_size(path: Path) -> tuple[int, int]:
    from engine.media import MediaError, load_portrait

    try:
        rgb = load_portrait(path)
    except MediaError as exc:
        raise UsageError(f"portrait '{path.name}': {exc.reason}" + (f" ({exc.hint})" if exc.hint else "")) from exc
    return int(rgb.shape[1]), int(rgb.shape[0])


def request_from_args(args: argparse.Namespace) -> ShotRequest:
    """Check the command line; raises :class:`UsageError` with the fix."""
    portrait, audio = Path(args.portrait).expanduser().resolve(), Path(args.audio).expanduser().resolve()
    for label, path in (("portrait", portrait), ("audio", audio)):
        if not path.is_file():
            raise UsageError(f"{label} '{args.portrait if label == 'portrait' else args.audio}' not found: "
                             f"pass the path of an existing {'image' if label == 'portrait' else 'audio'} file")
    out = Path(args.out).expanduser() if args.out else Path.cwd() / f"{audio.stem}.mp4"
    out = out.resolve()
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out '{out.name}' must end in .mp4")
    if not out.parent.is_dir():
        raise UsageError(f"--out folder '{out.parent}' does not exist: create it or pass another --out")
    if len(out.with_suffix(".json").name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise UsageError(f"--out '{out.name[:40]}...' is too long: its sidecar ({out.stem[:20]}....json) would pass "
                         f"the {NAME_MAX}-byte limit of a file name; pass a shorter --out")
    if out.exists() and not args.force:
        raise UsageError(f"'{out.name}' already exists: pass --force to replace it, or another --out")
    if args.fps not in SUPPORTED_FPS:
        raise UsageError(f"--fps {args.fps:g} is not supported: pass one of {', '.join(map(str, SUPPORTED_FPS))}")
    if args.face is not None and args.face < 1:
        raise UsageError(f"--face {args.face}: faces are counted from 1 (the leftmost)")
    size = parse_size(args.size) if args.size else None
    mouth_box = None
    if args.mouth_box:
        mouth_box = parse_mouth_box(args.mouth_box, _portrait_size(portrait))
    return ShotRequest(portrait=portrait, audio=audio, out=out, text=args.text or "", quality=args.quality,
                       fps=float(args.fps), size=size, framing=args.framing, face=args.face, mouth_box=mouth_box,
                       backend=args.backend, seed=int(args.seed))


# ---------------------------------------------------------------- the job
def build_job(req: ShotRequest, folder: Path, backend_options: dict[str, Any] | None = None) -> JobSpec:
    """The one-shot scene's job, via the studio's own planner; written to a hidden name beside ``req.out``."""
    from engine.media import MediaError, probe_audio
    from soul_studio.project.model import Character, Project, Shot, TimelineEntry
    from soul_studio.render.planner import ShotNotRenderable, job_for_shot

    try:
        length = probe_audio(req.audio).duration
    except MediaError as exc:
        raise UsageError(f"audio '{req.audio.name}': {exc.reason}" + (f" ({exc.hint})" if exc.hint else "")) from exc
    width, height = req.size or (1280, 720)
    project = Project(name=req.name, fps=req.fps, width=width, height=height)
    project.path = folder / "shot.soulproj"  # never saved: the planner only needs a home folder
    if req.size is not None:
        project.settings.draft_scale = 1.0  # an explicit size is the size, draft or final
    character = Character(name=req.portrait.stem, portrait=str(req.portrait), framing=req.framing,
                          mouth_box=req.mouth_box)
    shot = Shot(character_id=character.id, text=req.text, audio=str(req.audio), audio_length=length,
                framing=req.framing, name=req.name, seed=req.seed)
    project.characters.append(character)
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    tail = f".rendering-{uuid.uuid4().hex[:8]}.mp4"
    hidden = req.out.with_name(f".{fit_name(req.out.stem, len(tail) + 2)}{tail}")  # its .json sidecar fits too
    try:
        job = job_for_shot(project, shot, req.quality, req.backend, output_path=str(hidden),
                           backend_options=backend_options)
    except (ShotNotRenderable, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if req.face is not None:
        job = job.replace(options={**job.options, "face_index": req.face - 1})
    return job


def cli_fix(error: str, hint: str = "", backend: str = "sketch", one_shot: bool = True) -> str:
    """The command-line way out of an engine error ("" when there is none)."""
    low = f"{error} {hint}".lower()
    if "no face" in low or "mouth box" in low:
        fix = "pass --mouth-box x,y,w,h (fractions of the portrait, or pixels)"
        return fix if one_shot else "render it with soul-studio shot PORTRAIT AUDIO --mouth-box x,y,w,h"
    if "face" in low and any(k in low for k in ("index", "faces", "face found", "--face", "which face")):
        return "pass --face N (1 is the leftmost face)" if one_shot else "render it with soul-studio shot ... --face N"
    if "model" in low and backend == "soul":
        return "pass --backend sketch to render without the Soul model, or register it with soul-studio models"
    if "model" in low and backend == "infinitetalk":
        return ("pass --backend sketch to render without a GPU model, or register the InfiniteTalk folders with "
                "soul-studio models (soul-studio models catalogue lists what to download)")
    if "audio" in low and one_shot:
        return "pass a WAV, MP3, M4A, FLAC or OGG recording as AUDIO"
    return ""


def studio_fix(error: str, hint: str = "", backend: str = "sketch") -> str:
    """The studio's way out: the engine's hint, unless it only repeats the error."""
    if hint and hint.strip().lower() not in error.lower():
        return f"in the studio, {hint}"
    if backend != "sketch" and ("model" in error.lower() or "not available" in error.lower()):
        return "in the studio, set the model folder or the default backend in Preferences"
    return ""


def failure_message(name: str, error: str, hint: str = "", backend: str = "sketch", one_shot: bool = True) -> str:
    """``shot 'NAME' failed: ERROR: CLI fix, or in the studio, UI fix``."""
    fixes = [f for f in (cli_fix(error, hint, backend, one_shot), studio_fix(error, hint, backend)) if f]
    return f"shot '{name}' failed: {error}" + (": " + ", or ".join(fixes) if fixes else "")


def explain_failure(req: ShotRequest, error: str, hint: str = "") -> str:
    """The engine's error for this shot, with the command-line fix first and the studio's after."""
    return failure_message(req.name, error, hint, req.backend, one_shot=True)


def _place_take(hidden: Path, out: Path) -> dict[str, Any]:
    """Move the finished take and its sidecar to ``out``; returns the sidecar."""
    from engine.takes import sidecar_path_for, write_json_atomic

    side_hidden = sidecar_path_for(hidden)
    sidecar = json.loads(side_hidden.read_text(encoding="utf-8"))
    sidecar["take"] = out.name
    if isinstance(sidecar.get("job"), dict):
        sidecar["job"]["output_path"] = str(out)
    os.replace(hidden, out)
    write_json_atomic(sidecar_path_for(out), sidecar)
    side_hidden.unlink(missing_ok=True)
    return sidecar


def _discard(hidden: Path) -> None:
    from engine.takes import discard_partials, sidecar_path_for

    for path in (hidden, sidecar_path_for(hidden)):
        path.unlink(missing_ok=True)
    discard_partials(hidden)


@dataclass
class ShotOutcome:
    """How a one-shot render ended: ``done``/``failed``/``cancelled``, the message, the sidecar, engine notes."""

    status: str
    message: str = ""
    sidecar: dict[str, Any] | None = None
    notes: list[str] | None = None


async def render_shot(req: ShotRequest, show_progress: bool = True) -> ShotOutcome:
    """Render the request through the engine; the take lands at ``req.out`` only when complete."""
    from soul_studio.render.manager import RenderManager, registered_model_options

    with tempfile.TemporaryDirectory(prefix="soul-shot-") as tmp:
        folder = Path(tmp)
        job = build_job(req, folder, registered_model_options() if req.backend != "sketch" else None)
        hidden = Path(job.output_path)
        manager = RenderManager(_project_stub(), lambda edit: None, journal_dir=folder, backend=req.backend)
        progress = None
        job_id = job.job_id
        notes: list[str] = []

        def on_engine(event: Any) -> None:  # warnings of this render (e.g. which face speaks)
            if event.kind == "log" and event.job_id == job_id and event.get("level") == "warning":
                notes.append(str(event.get("message") or ""))

        try:
            await manager.start()
            if manager.client is not None:
                manager.client.add_listener(on_engine)
            if show_progress:
                from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

                progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                    TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn())
                progress.start()
                label = f"{req.name} ({req.quality}, {job.width}x{job.height})"
                bar = progress.add_task(label, total=1.0)

                def on_change(kind: str, state: object) -> None:
                    if state is not None and getattr(state, "job_id", None) == job_id:
                        message = str(getattr(state, "message", "") or "")
                        shown = f"{label}: {message}" if message and message not in ("rendering", "done") else label
                        progress.update(bar, completed=float(getattr(state, "fraction", 0.0)), description=shown)

                manager.add_listener(on_change)
            job_id = manager.render_job(job)
            try:
                await manager.wait_idle()
            except asyncio.CancelledError:
                manager.cancel(job_id)
                await asyncio.shield(manager.wait_idle(10.0))
                raise
            state = manager.jobs[job_id]
        finally:
            if progress is not None:
                progress.stop()
            await manager.stop()
            if not (job_id and manager.jobs.get(job_id) and manager.jobs[job_id].status == "done"):
                _discard(hidden)
        if state.status != "done":
            if state.status == "cancelled":
                return ShotOutcome("cancelled", f"shot '{req.name}' cancelled: {state.message or 'stopped'}", None, notes)
            return ShotOutcome("failed", explain_failure(req, state.error or "render failed", state.hint), None, notes)
        return ShotOutcome("done", "", _place_take(hidden, req.out), notes)


def _project_stub() -> Any:
    """The manager files takes on a project; a one-shot render keeps none."""
    from soul_studio.project.model import Project

    return Project(name="shot")


def describe(req: ShotRequest, sidecar: dict[str, Any], notes: list[str] | None = None) -> str:
    """One line for stdout: what was written, how the mouth was timed, which face speaks."""
    meta = sidecar.get("metadata") or {}
    mouth = meta.get("mouth") or {}
    parts = [f"{sidecar.get('frame_count')} frames at {sidecar.get('fps')} fps, {sidecar.get('width')}x{sidecar.get('height')}"]
    if mouth.get("method"):
        parts.append(f"mouth shapes {mouth['method']}")
    analysis = meta.get("analysis") or {}
    faces = analysis.get("faces")
    told = any("face" in n for n in notes or [])  # the engine already said which face speaks
    if isinstance(faces, list) and len(faces) > 1 and analysis.get("face_index") is not None and not told:
        parts.append(f"face {int(analysis['face_index']) + 1} of {len(faces)} speaks (choose with --face N)")
    return f"soul-studio: shot '{req.name}' written to {req.out} ({'; '.join(parts)})"


def run(args: argparse.Namespace) -> int:
    try:
        req = request_from_args(args)
    except UsageError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        outcome = asyncio.run(render_shot(req, show_progress=not args.quiet))
    except UsageError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for note in outcome.notes or []:
        if "faces found" in note and "--face" not in note:
            note += "; here, pass --face N"
        print(f"soul-studio: shot '{req.name}': {note}")
    if outcome.status != "done" or outcome.sidecar is None:
        print(f"soul-studio: {outcome.message}", file=sys.stderr)
        return EXIT_FAILED
    print(describe(req, outcome.sidecar, outcome.notes))
    return EXIT_OK


__all__ = ["ShotOutcome", "ShotRequest", "UsageError", "build_job", "cli_fix", "describe", "explain_failure", "failure_message",
           "parse_mouth_box", "parse_size", "register", "render_shot", "request_from_args", "run", "studio_fix"]
