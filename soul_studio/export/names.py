"""Names as each interchange format can carry them.

XML formats take any Unicode name (the XML writer escapes quotes, apostrophes, ``&``
and ``<``); CMX 3600 is a 7-bit ASCII format, so names there are transliterated
("Zoë" → "Zoe", "東京" → "Dong Jing") rather than dropped or written as UTF-8 bytes that
Avid shows as garbage.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii


def ascii_name(text: str) -> str:
    """Printable ASCII with the meaning kept: accents dropped, scripts transliterated."""
    decomposed = unicodedata.normalize("NFKC", text)
    out = anyascii(decomposed)
    out = re.sub(r"[^\x20-\x7e]", "", out)  # control characters, whatever anyascii left
    return re.sub(r"\s+", " ", out).strip()


def reel_safe(text: str, width: int = 8) -> str:
    """A reel name: upper-case ASCII letters and digits, at most ``width`` characters."""
    return re.sub(r"[^A-Z0-9]", "", ascii_name(text).upper())[:width]
