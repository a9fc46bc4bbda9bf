"""Frame rates and timecode shared by the engine and the studio.

Film and broadcast rates are rational; 23.976 and 29.97 are 24000/1001 and 30000/1001.
Everything that counts frames goes through here so cuts land on the same frame everywhere.
"""

from __future__ import annotations

from fractions import Fraction

SUPPORTED_FPS: tuple[float, ...] = (23.976, 24.0, 25.0, 29.97, 30.0)

_RATIONAL = {
    23.976: Fraction(24000, 1001),
    24.0: Fraction(24, 1),
    25.0: Fraction(25, 1),
    29.97: Fraction(30000, 1001),
    30.0: Fraction(30, 1),
}


def fps_fraction(fps: float) -> Fraction:
    """Return the exact rational rate for one of the supported frame rates."""
    for nominal, exact in _RATIONAL.items():
        if abs(float(fps) - nominal) < 0.01:
            return exact
    raise ValueError(f"unsupported frame rate {fps!r}; choose one of {', '.join(map(str, SUPPORTED_FPS))}")


def is_supported_fps(fps: float) -> bool:
    try:
        fps_fraction(fps)
    except ValueError:
        return False
    return True


def frame_count(duration_s: float, fps: float) -> int:
    """Frames covering ``duration_s`` seconds: round(duration × fps), at least one."""
    return max(1, int(round(Fraction(duration_s).limit_denominator(10**6) * fps_fraction(fps))))


def frames_to_seconds(frames: int, fps: float) -> float:
    return float(Fraction(frames) / fps_fraction(fps))


def seconds_to_frames(seconds: float, fps: float) -> int:
    return int(round(Fraction(seconds).limit_denominator(10**6) * fps_fraction(fps)))


def timecode_base(fps: float) -> int:
    """Integer frames per timecode second (24 for 23.976, 30 for 29.97)."""
    return int(round(float(fps_fraction(fps))))


def is_drop_frame(fps: float) -> bool:
    """29.97 uses drop-frame timecode by convention; 23.976 does not."""
    return abs(float(fps) - 29.97) < 0.01


def frames_to_timecode(frames: int, fps: float, drop_frame: bool | None = None) -> str:
    """Format a frame count as SMPTE timecode (``HH:MM:SS:FF``; ``;`` before frames when drop-frame)."""
    base = timecode_base(fps)
    drop = is_drop_frame(fps) if drop_frame is None else drop_frame
    frames = int(frames)
    if drop:
        drop_per_min = 2 if base == 30 else 4
        per_10min = base * 600 - drop_per_min * 9
        per_min = base * 60 - drop_per_min
        tens, rem = divmod(frames, per_10min)
        if rem > drop_per_min:
            frames += drop_per_min * 9 * tens + drop_per_min * ((rem - drop_per_min) // per_min)
        else:
            frames += drop_per_min * 9 * tens
    ff = frames % base
    total_s = frames // base
    ss = total_s % 60
    mm = (total_s // 60) % 60
    hh = total_s // 3600
    sep = ";" if drop else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


def timecode_to_frames(timecode: str, fps: float) -> int:
    """Parse ``HH:MM:SS:FF`` (or ``;`` drop-frame) into a frame count."""
    drop = ";" in timecode
    parts = timecode.replace(";", ":").split(":")
    if len(parts) != 4:
        raise ValueError(f"timecode {timecode!r} is not HH:MM:SS:FF")
    hh, mm, ss, ff = (int(p) for p in parts)
    base = timecode_base(fps)
    frames = ((hh * 60 + mm) * 60 + ss) * base + ff
    if drop:
        drop_per_min = 2 if base == 30 else 4
        total_minutes = hh * 60 + mm
        frames -= drop_per_min * (total_minutes - total_minutes // 10)
    return frames
