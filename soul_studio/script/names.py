"""Character cues → cast names: "JOHN (V.O.)" → "John", "MARÍA" → "María", "O'BRIEN" → "O'Brien".

Scripts shout names in capitals and decorate them with extensions; the cast shows each
person once, in the case a reader expects. Names typed in mixed case ("McCLANE") are the
writer's choice and stay as written.
"""

from __future__ import annotations

import re

CONTINUED = {"CONT'D", "CONT’D", "CONTD", "CONT", "CONTINUED", "CONT'D.", "MORE"}
_EXTENSION = re.compile(r"\s*\(([^()]*)\)\s*$")
_ROMAN = re.compile(r"^(?=[IVXLC]{2,}$)C{0,3}(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def split_cue(cue: str) -> tuple[str, list[str]]:
    """``"@JOHN (V.O.) (CONT'D) ^"`` → ``("JOHN", ["V.O.", "CONT'D"])``."""
    text = cue.strip()
    if text.endswith("^"):
        text = text[:-1].rstrip()
    if text.startswith("@"):
        text = text[1:].lstrip()
    extensions: list[str] = []
    while True:
        m = _EXTENSION.search(text)
        if m is None or m.start() == 0:
            break
        extensions.insert(0, m.group(1).strip())
        text = text[: m.start()].rstrip()
    return text, extensions


def is_continued(extension: str) -> bool:
    """True for the CONT'D family, which says nothing about the shot."""
    return extension.strip().upper().replace(" ", "") in CONTINUED


def _cap_word(word: str) -> str:
    if _ROMAN.match(word):
        return word
    parts = word.lower().split("-")
    out = []
    for part in parts:
        if not part:
            out.append(part)
            continue
        part = part[0].upper() + part[1:]
        # O'BRIEN, D'ARCY: a one-letter prefix before the apostrophe starts a new capital
        m = re.match(r"^(\w)(['’])(\w)(.*)$", part)
        if m:
            part = m.group(1) + m.group(2) + m.group(3).upper() + m.group(4)
        out.append(part)
    return "-".join(out)


def is_shouted(text: str) -> bool:
    """All letters capital (ß has no capital of its own and counts as one)."""
    return any(ch.isupper() for ch in text) and not any(ch.islower() and ch != "ß" for ch in text)


def normalise_character_name(cue: str) -> str:
    """The cast name for a cue: extensions and markers dropped, capitals softened."""
    name, _ = split_cue(cue)
    name = " ".join(name.split())
    if is_shouted(name):
        name = " ".join(_cap_word(w) for w in name.split(" "))
    return name
