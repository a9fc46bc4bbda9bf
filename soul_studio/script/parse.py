"""Open a screenplay file of any supported kind: Fountain (.fountain, .spmd, .txt) or Final Draft (.fdx)."""

from __future__ import annotations

import os
from pathlib import Path

from soul_studio.script.errors import ScreenplayError
from soul_studio.script.fdx import parse_fdx
from soul_studio.script.fountain import parse_fountain
from soul_studio.script.model import Screenplay

FOUNTAIN_SUFFIXES = (".fountain", ".spmd", ".txt", ".md")
FDX_SUFFIXES = (".fdx",)
SCRIPT_SUFFIXES = FOUNTAIN_SUFFIXES + FDX_SUFFIXES
MAX_BYTES = 20 * 1024 * 1024


def _decode(raw: bytes, source: str) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ScreenplayError(source, "binary data, not a screenplay", raw[:nul].count(b"\n") + 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScreenplayError(
            source, f"not UTF-8 text (byte 0x{raw[exc.start]:02X}); save the script as UTF-8", line
        ) from exc


def _looks_like_fdx(raw: bytes) -> bool:
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or head.startswith(b"<FinalDraft")


def parse_screenplay(path: str | os.PathLike[str]) -> Screenplay:
    """Read a screenplay; the format follows the suffix, or the content for unknown suffixes.

    Raises :class:`ScreenplayError` (naming the file and line) for anything unreadable,
    including a file with neither scene headings nor dialogue.
    """
    p = Path(path)
    source = str(p)
    if not p.exists():
        raise ScreenplayError(source, "file not found")
    if p.is_dir():
        raise ScreenplayError(source, "expected a screenplay file, found a folder")
    if p.stat().st_size > MAX_BYTES:
        raise ScreenplayError(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MB; not a screenplay")
    raw = p.read_bytes()
    suffix = p.suffix.lower()
    if suffix in FDX_SUFFIXES or (suffix not in FOUNTAIN_SUFFIXES and _looks_like_fdx(raw)):
        screenplay = parse_fdx(raw, source)
    else:
        screenplay = parse_fountain(_decode(raw, source), source)
    if not screenplay.scenes or not any(s.index or s.dialogue for s in screenplay.scenes):
        raise ScreenplayError(source, "no scene headings or dialogue found (is this a Fountain or Final Draft script?)")
    if not screenplay.title:
        screenplay.title = p.stem
    return screenplay
