"""Pictures for each segment of a cut: decoded takes, stills, slates, black, burn-ins.

Frames are produced one at a time. A take that already has the delivery size and needs
no burn-in passes through as a decoded ``av.VideoFrame`` (no RGB round trip), which is
what keeps a 1080p conform faster than real time on a laptop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

from engine.media import MediaError, fit_image, load_portrait
from engine.timebase import frames_to_timecode
from soul_studio.export.cut import Cut, Segment
from soul_studio.project.model import Project

Picture = np.ndarray | av.VideoFrame


def black(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), np.uint8)


# Accurate rounding and full chroma interpolation: swscale's default YUV→RGB path is off by
# up to 3 code values, which a PNG deliverable (sRGB values) would carry.
RGB_FLAGS = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def to_rgb(picture: Picture) -> np.ndarray:
    """RGB values of a picture; a decoded frame is read with its own (BT.709) matrix."""
    if isinstance(picture, av.VideoFrame):
        return picture.reformat(format="rgb24", interpolation=RGB_FLAGS).to_ndarray()
    return picture


def decode_take(path: Path, start: int, count: int, threads: int = 0) -> Iterator[av.VideoFrame]:
    """Decoded frames ``start`` … ``start + count - 1`` of a take, in order.

    ``threads`` 0 lets FFmpeg pick; 1 is the cheapest in CPU time and the right choice when
    the decoder runs beside the encoder on a thread of its own.
    """
    try:
        # Opening normally decodes the first frames just to learn what the container already
        # says (size, pixel format): ~80 ms per 1080p take, thrown away. Probe with frame
        # decoding switched off, then switch it back on for the real decode.
        container = av.open(str(path), options={"skip_frame": "all"})
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(path, f"not a readable video ({exc})", "render the shot again") from exc
    with container:
        if not container.streams.video:
            raise MediaError(path, "take has no video stream", "render the shot again")
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "DEFAULT"
        if threads == 1:
            stream.codec_context.thread_count = 1
        else:
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
        index = 0
        for frame in container.decode(stream):
            if index >= start + count:
                break
            if index >= start:
                yield frame
            index += 1


def _same_aspect(w: int, h: int, width: int, height: int) -> bool:
    return abs(w / h - width / height) < 0.01


def fit_frame(frame: av.VideoFrame, width: int, height: int, rgb: bool) -> Picture:
    """Bring a decoded frame to the delivery size; RGB array when ``rgb`` is asked."""
    if frame.width == width and frame.height == height:
        return to_rgb(frame) if rgb else frame
    if _same_aspect(frame.width, frame.height, width, height):
        scaled = frame.reformat(width=width, height=height, format="rgb24" if rgb else None, interpolation="AREA")
        return scaled.to_ndarray(format="rgb24") if rgb else scaled
    return fit_image(to_rgb(frame), width, height, mode="contain")


def slate(width: int, height: int, lines: list[str]) -> np.ndarray:
    """A dark card with the shot's name, character and line, for shots without a take."""
    img = np.full((height, width, 3), 24, np.uint8)
    scale = max(0.3, height / 720.0)
    thickness = max(1, int(round(2 * scale)))
    y = int(height * 0.3)
    for i, text in enumerate(lines):
        size = (1.3 if i == 0 else 0.8) * scale
        for chunk in _wrap(text, width, size, thickness):
            (tw, th), _ = cv2.getTextSize(chunk, cv2.FONT_HERSHEY_SIMPLEX, size, thickness)
            cv2.putText(img, chunk, (max(4, (width - tw) // 2), y), cv2.FONT_HERSHEY_SIMPLEX, size,
                        (235, 235, 235), thickness, cv2.LINE_AA)
            y += int(th * 1.8) + 2
        y += int(8 * scale)
    return img


def _wrap(text: str, width: int, size: float, thickness: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if line and cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, size, thickness)[0][0] > width * 0.9:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines[:4]


def burn_in(rgb: np.ndarray, name: str, timecode: str) -> np.ndarray:
    """Shot name top left and record timecode bottom centre, on a dark band for legibility."""
    out = np.array(rgb, copy=True)
    h, w = out.shape[:2]
    scale = max(0.3, h / 900.0)
    thickness = max(1, int(round(2 * scale)))
    for text, anchor in ((name, "top"), (timecode, "bottom")):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        pad = max(2, th // 3)
        x = pad * 2 if anchor == "top" else max(0, (w - tw) // 2)
        y = th + pad * 2 if anchor == "top" else h - base - pad * 2
        y0, y1 = max(0, y - th - pad), min(h, y + base + pad)
        x0, x1 = max(0, x - pad), min(w, x + tw + pad)
        out[y0:y1, x0:x1] = (out[y0:y1, x0:x1] * 0.35).astype(np.uint8)
        cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


class SegmentPictures:
    """Yields the pictures of segments; ``rgb`` forces arrays (image sequences, burn-in).

    ``decode_threads`` is handed to :func:`decode_take` (0: FFmpeg decides).
    """

    def __init__(self, project: Project, cut: Cut, missing: str = "portrait", burn: bool = False,
                 rgb: bool = False, decode_threads: int = 0) -> None:
        self.project = project
        self.decode_threads = decode_threads
        self.cut = cut
        self.missing = missing
        self.burn = burn
        self.rgb = rgb or burn
        self.width, self.height = cut.width, cut.height
        self._black = black(self.width, self.height)

    def still_for(self, seg: Segment) -> np.ndarray:
        """The portrait (fitted) or the slate shown for a shot without a take."""
        shot = seg.shot
        assert shot is not None
        character = self.project.character(shot.character_id)
        if self.missing == "portrait" and character is not None and character.portrait:
            path = self.project.resolve(character.portrait)
            if path is not None and path.is_file():
                return fit_image(load_portrait(path), self.width, self.height, mode="contain")
        lines = [seg.name]
        if character is not None:
            lines.append(character.name)
        if shot.text:
            lines.append(f'"{shot.text}"')
        return slate(self.width, self.height, lines)

    def segment(self, seg: Segment) -> Iterator[Picture]:
        """Exactly ``seg.length`` pictures for the segment."""
        if seg.kind == "gap":
            for _ in range(seg.length):
                yield self._black
            return
        produced = 0
        last: Picture | None = None
        if seg.take_path is not None:
            # a split half starts inside its take; a take that starts inside its shot holds its first frame
            into = seg.offset + (seg.take.offset if seg.take is not None else 0)
            lead = min(seg.length, max(0, -into))
            start = max(0, into)
            # (a stretch all inside that hold still needs the first frame)
            for frame in decode_take(seg.take_path, start, max(1, seg.length - lead), self.decode_threads):
                last = fit_frame(frame, self.width, self.height, self.rgb)
                for _ in range(min(lead + 1, seg.length - produced)):
                    yield self._decorate(last, seg, produced)
                    produced += 1
                lead = 0
        if last is None:
            last = self.still_for(seg)
        while produced < seg.length:  # a short take holds its last frame
            yield self._decorate(last, seg, produced)
            produced += 1

    def _decorate(self, picture: Picture, seg: Segment, i: int) -> Picture:
        if not self.burn:
            return picture
        tc = frames_to_timecode(self.cut.start_tc_frames + seg.record_start + i, self.cut.fps)
        return burn_in(to_rgb(picture), seg.name, tc)
