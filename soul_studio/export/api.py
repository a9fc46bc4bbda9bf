"""``export_project``: one entry point for every delivery format.

Checks the destination first (never overwriting unasked), plans the cut, writes through
a temporary name and moves the result into place only when it is complete.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from engine.atomic import fit_name
from engine.media import MediaError
from engine.timebase import fps_fraction
from soul_studio.export.cut import Cut, Segment, plan_cut
from soul_studio.export.interchange import MediaLink, build_timeline, dialogue_link, take_link, write_interchange
from soul_studio.export.movie import write_image_sequence, write_movie, write_shot_clips
from soul_studio.export.options import (
    FORMATS,
    INTERCHANGE_FORMATS,
    MOVIE_FORMATS,
    SUFFIXES,
    CancelLike,
    ExportError,
    ExportOptions,
    ExportResult,
    ProgressCallback,
)
from soul_studio.export.output import Meter, Staging
from soul_studio.export.safety import OutputClaim, claim_output, sweep_staging
from soul_studio.project.model import Project


def output_path(fmt: str, out_path: str | os.PathLike[str]) -> Path:
    """Absolute output path; the format's suffix is added when the name has none."""
    out = Path(out_path).expanduser().absolute()
    suffix = SUFFIXES.get(fmt, "")
    if suffix and not out.suffix:
        out = out.with_name(out.name + suffix)
    return out


def export_project(
    project: Project,
    format: str,  # noqa: A002 - the public name the CLI and dialog use
    out_path: str | os.PathLike[str],
    options: ExportOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike | None = None,
) -> ExportResult:
    """Export ``project`` as ``format`` (one of :data:`FORMATS`) to ``out_path``.

    Raises :class:`ExportError` (or :class:`ExportCancelled`); on either, nothing is
    left at the destination and an existing file there is untouched.
    """
    fmt = format.lower().strip()
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {format!r}", f"choose one of {', '.join(FORMATS)}")
    options = options or ExportOptions()
    options.validate()
    out = output_path(fmt, out_path)
    claim = claim_output(project, out, fmt, options.overwrite, is_folder=fmt == "png")
    sweep_staging(out)
    started = time.monotonic()
    cut = plan_cut(project, options)
    warnings = list(cut.warnings)
    result = ExportResult(fmt, out, frames=cut.length, start_timecode=cut.start_timecode, warnings=warnings)
    result.duration_s = cut.length / float(_rate(cut))
    try:
        if fmt in MOVIE_FORMATS:
            meter = Meter(cut.length, progress, cancel)
            meter.stage(f"encoding {out.name}")
            staging = Staging(out)
            try:
                staged = staging.path(out.name)
                result.frames = write_movie(project, cut, MOVIE_FORMATS[fmt], staged, options, meter, warnings)
                meter.check()
                claim.install(staged)
            finally:
                staging.discard()
            result.files = [out]
            meter.finish()
        elif fmt == "png":
            result.files = _export_sequence(project, cut, claim, options, Meter(cut.length, progress, cancel), warnings)
        else:
            result.files = _export_interchange(project, cut, fmt, claim, options, progress, cancel, warnings)
    except MediaError as exc:
        raise ExportError(str(exc)) from exc
    except OSError as exc:
        read_only = isinstance(exc, PermissionError) or exc.errno == errno.EROFS  # EACCES, EPERM (immutable), EROFS
        hint = "the folder cannot be written: choose another folder" if read_only else "check free space and permissions"
        if exc.errno == errno.ENAMETOOLONG:
            hint = "a file name the export needs is too long for the file system: choose a shorter name"
        raise ExportError(f"cannot write {out} ({exc.strerror or exc})", hint) from exc
    result.elapsed_s = time.monotonic() - started
    return result


def _rate(cut: Cut) -> float:
    return float(fps_fraction(cut.fps))


def _export_sequence(project: Project, cut: Cut, claim: OutputClaim, options: ExportOptions, meter: Meter,
                     warnings: list[str]) -> list[Path]:
    out = claim.path
    staging = Staging(out)
    try:
        meter.stage(f"writing frames into {out.name}")
        staged = staging.path(out.name)
        names = [p.name for p in write_image_sequence(project, cut, staged, out.name, options, meter, warnings)]
        meter.check()
        claim.install(staged)
    finally:
        staging.discard()
    meter.finish()
    return [out / n for n in names]


def _export_interchange(project: Project, cut: Cut, fmt: str, claim: OutputClaim, options: ExportOptions,
                        progress: ProgressCallback | None, cancel: CancelLike | None,
                        warnings: list[str]) -> list[Path]:
    out = claim.path
    media_folder = (options.media_folder or out.parent / f"{fit_name(out.stem, len('_media'))}_media").absolute()
    unique = {seg.index: seg for seg in cut.clips()}
    media_claim = None
    if options.media == "export":
        media_claim = claim_output(project, media_folder, "media", options.overwrite, is_folder=True)
        total = sum(seg.shot_length for seg in unique.values())
    else:
        total = 1
    meter = Meter(total, progress, cancel)
    staging = Staging(out)
    files: list[Path] = []
    try:
        video: dict[int, MediaLink] = {}
        audio: dict[int, MediaLink] = {}
        if options.media == "export":
            meter.stage("exporting shot clips")
            staged_media = staging.path(media_folder.name)
            staged_media.mkdir()
            codec = MOVIE_FORMATS[options.media_codec]
            clips = write_shot_clips(project, cut, codec, staged_media, options, meter, warnings)
            for index, staged_clip in clips.items():
                seg = unique[index]
                final = media_folder / staged_clip.name
                link = MediaLink(final, cut.base_tc_frames + seg.placement_start, seg.shot_length, has_audio=True,
                                 channels=2, width=cut.width, height=cut.height)
                video[index] = audio[index] = link
                files.append(final)
        else:
            meter.stage("linking takes")
            for index, seg in unique.items():
                link = take_link(seg) or _still_link(project, seg)
                if link is not None:
                    video[index] = link
                sound = _sound_link(project, seg, cut.fps, link, warnings)
                if sound is not None:
                    audio[index] = sound
        timeline = build_timeline(project, cut, video, audio, out.parent, options.relative_paths)
        staged_file = staging.path(out.name)
        write_interchange(timeline, fmt, staged_file, cut.fps)
        meter.check()
        if media_claim is not None:
            media_claim.install(staging.path(media_folder.name))
        claim.install(staged_file)
    finally:
        staging.discard()
    meter.finish()
    return [out, *files]


def export_shot_clips(
    project: Project,
    folder: str | os.PathLike[str],
    clip_format: str = "prores422hq",
    options: ExportOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelLike | None = None,
) -> ExportResult:
    """Write each shot's chosen take as its own clip into a new ``folder``.

    Clips carry the record timecode of the shot's place on the timeline and a reel name,
    so an editor can relink a conformed timeline to them. The folder appears complete or
    not at all.
    """
    options = options or ExportOptions()
    options.validate()
    if clip_format not in MOVIE_FORMATS:
        raise ExportError(f"unknown clip format {clip_format!r}", f"use one of {', '.join(MOVIE_FORMATS)}")
    out = Path(folder).expanduser().absolute()
    claim = claim_output(project, out, "clips", options.overwrite, is_folder=True)
    sweep_staging(out)
    started = time.monotonic()
    cut = plan_cut(project, options)
    result = ExportResult(clip_format, out, frames=cut.length, start_timecode=cut.start_timecode,
                          warnings=list(cut.warnings))
    unique = {seg.index: seg for seg in cut.clips()}
    meter = Meter(sum(seg.shot_length for seg in unique.values()), progress, cancel)
    staging = Staging(out)
    try:
        meter.stage("exporting shot clips")
        staged = staging.path(out.name)
        staged.mkdir()
        clips = write_shot_clips(project, cut, MOVIE_FORMATS[clip_format], staged, options, meter, result.warnings)
        meter.check()
        claim.install(staged)
    except MediaError as exc:
        raise ExportError(str(exc)) from exc
    finally:
        staging.discard()
    meter.finish()
    result.files = [out / p.name for p in clips.values()]
    result.duration_s = cut.length / _rate(cut)
    result.elapsed_s = time.monotonic() - started
    return result


def _sound_link(project: Project, seg: Segment, fps: float, picture: MediaLink | None,
                warnings: list[str]) -> MediaLink | None:
    """What a clip's sound points at: the line's own recording, or, for a two-shot, the take
    (which holds both lines, mixed); a take without sound leaves the partner's line out, said once."""
    shot = seg.shot
    assert shot is not None
    two_lines = shot.is_two_shot and bool(shot.partner_audio)
    if two_lines and picture is not None and picture.has_audio and seg.take_path is not None:
        return picture
    sound = dialogue_link(project, seg, fps)
    if two_lines:
        warnings.append(f"{seg.name!r}: the second character's line is only in the rendered take; render it, "
                        "or export with shot clips (--media export) to hear both lines in the editor")
    if sound is None and seg.take_path is not None:
        sound = take_link(seg)
    return sound


def _still_link(project: Project, seg: Segment) -> MediaLink | None:
    """A shot without a take links its character's portrait for its whole length."""
    shot = seg.shot
    character = project.character(shot.character_id) if shot is not None else None
    if character is None or not character.portrait:
        return None
    path = project.resolve(character.portrait)
    if path is None or not path.is_file():
        return None
    width = height = None
    try:
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
    except OSError:
        pass
    return MediaLink(path, 0, seg.shot_length, width=width, height=height, still=True)


__all__ = ["FORMATS", "INTERCHANGE_FORMATS", "MOVIE_FORMATS", "export_project", "export_shot_clips", "output_path"]
