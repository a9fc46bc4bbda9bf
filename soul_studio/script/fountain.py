"""Fountain (https://fountain.io) → :class:`Screenplay`.

The Fountain packages on PyPI were either unmaintained or misread non-ASCII cues and
kept notes in the text, and none reported line numbers; the syntax is small, so Soul
Studio reads it itself. Covered: title page, scene headings (and forced ``.``), scene
numbers ``#1A#``, characters (forced ``@``, extensions, dual ``^``), parentheticals,
dialogue (``  `` keeps a blank line inside a speech, ``~`` lyrics), transitions (and
forced ``>``), centered text, forced action ``!``, emphasis, sections, synopses, page
breaks; notes ``[[ ]]`` and boneyard ``/* */`` are dropped, an unclosed one is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from soul_studio.script.errors import ScreenplayError
from soul_studio.script.model import Action, DialogueBlock, Scene, Screenplay, Transition
from soul_studio.script.names import is_continued, is_shouted, split_cue

_HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[.\s]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _\-]*):(.*)$")
_EMPHASIS = [
    re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"),
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"),
    re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"),
]


@dataclass
class _Line:
    """A source line after notes and boneyard are cut out; ``number`` is the first source line."""

    number: int
    text: str
    emptied: bool = False  # held only a note or boneyard: skipped, not a blank line

    @property
    def blank(self) -> bool:
        return not self.emptied and self.text.strip() == "" and len(self.text) < 2

    @property
    def stripped(self) -> str:
        return self.text.strip()


def clean_inline(text: str) -> str:
    """Drop emphasis markers (``*italic*``, ``**bold**``, ``_underline_``), keep escaped ones."""
    text = text.replace("\\*", "\x00").replace("\\_", "\x01")
    for pattern in _EMPHASIS:
        previous = None
        while previous != text:
            previous = text
            text = pattern.sub(r"\1", text)
    return text.replace("\x00", "*").replace("\x01", "_")


def _logical_lines(text: str, source: str) -> list[_Line]:
    """Split into lines, cutting ``[[notes]]`` and ``/* boneyard */`` (which may span lines)."""
    lines: list[_Line] = []
    buf: list[str] = []
    line_no = 1
    start_no = 1
    removed = False
    state = ""  # "", "note" or "bone"
    opened_at = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        pair = text[i : i + 2]
        if state == "":
            if pair == "[[":
                state, opened_at, removed = "note", line_no, True
                i += 2
                continue
            if pair == "/*":
                state, opened_at, removed = "bone", line_no, True
                i += 2
                continue
            if ch == "\n":
                joined = "".join(buf)
                lines.append(_Line(start_no, joined, emptied=removed and joined.strip() == ""))
                buf, removed = [], False
                line_no += 1
                start_no = line_no
                i += 1
                continue
            buf.append(ch)
            i += 1
            continue
        if ch == "\n":
            line_no += 1
        if (state == "note" and pair == "]]") or (state == "bone" and pair == "*/"):
            state = ""
            i += 2
            continue
        i += 1
    if state:
        what = "note [[ is never closed (add ]])" if state == "note" else "boneyard /* is never closed (add */)"
        raise ScreenplayError(source, what, opened_at)
    joined = "".join(buf)
    if joined or removed:
        lines.append(_Line(start_no, joined, emptied=removed and joined.strip() == ""))
    return lines


def _title_page(lines: list[_Line]) -> tuple[dict[str, str], int]:
    """Key: value pairs at the very top, up to the first blank line; returns (fields, next index)."""
    if not lines or not _TITLE_KEY.match(lines[0].text):
        return {}, 0
    fields: dict[str, str] = {}
    key = ""
    i = 0
    while i < len(lines) and not lines[i].blank:
        line = lines[i]
        m = _TITLE_KEY.match(line.text)
        if m and not line.text[:1].isspace():
            key = m.group(1).strip().lower()
            fields[key] = clean_inline(m.group(2).strip())
        elif key and line.stripped:
            fields[key] = (fields[key] + "\n" + clean_inline(line.stripped)).strip()
        i += 1
    return fields, i


def _is_heading(text: str) -> bool:
    return bool(_HEADING.match(text))


def _is_character(line: _Line, next_line: _Line | None) -> bool:
    text = line.stripped
    if next_line is None or next_line.blank or not text:
        return False
    if text.startswith("@"):
        return len(text) > 1
    if text[0] in "!.>~=#[(" or text.endswith("TO:"):
        return False
    name, _ = split_cue(text)
    return bool(name) and is_shouted(name) and any(ch.isalpha() for ch in name)


def _heading(text: str) -> tuple[str, str]:
    m = _SCENE_NUMBER.search(text)
    if m:
        return clean_inline(text[: m.start()].strip()), m.group(1)
    return clean_inline(text.strip()), ""


def parse_fountain(text: str, source: str = "<text>") -> Screenplay:
    """Parse Fountain ``text``; ``source`` names the file in error messages."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = _logical_lines(text, source)
    metadata, i = _title_page(lines)
    lines = [ln for ln in lines[i:] if not ln.emptied]
    scenes: list[Scene] = []
    scene = Scene(heading="", index=0, line=None)

    def next_nonblank_line(k: int) -> _Line | None:
        return lines[k + 1] if k + 1 < len(lines) else None

    i = 0
    count = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.stripped
        after_blank = i == 0 or lines[i - 1].blank
        if line.blank or not stripped:
            i += 1
            continue
        if stripped.startswith(("#", "=")):
            i += 1  # page break, section, synopsis: structure, not content
            continue
        if (stripped.startswith(".") and not stripped.startswith("..")) or (after_blank and _is_heading(stripped)):
            if scene.elements or scene.index:
                scenes.append(scene)
            count += 1
            heading, number = _heading(stripped[1:] if stripped.startswith(".") else stripped)
            scene = Scene(heading=heading, index=count, number=number, line=line.number)
            i += 1
            continue
        if stripped.startswith(">") and stripped.endswith("<"):
            scene.elements.append(Action(clean_inline(stripped[1:-1].strip()), line.number))
            i += 1
            continue
        if stripped.startswith(">"):
            scene.elements.append(Transition(clean_inline(stripped[1:].strip()), line.number))
            i += 1
            continue
        following = next_nonblank_line(i)
        if (
            after_blank
            and stripped.endswith("TO:")
            and is_shouted(stripped)
            and (following is None or following.blank)
        ):
            scene.elements.append(Transition(clean_inline(stripped), line.number))
            i += 1
            continue
        if after_blank and not stripped.startswith("!") and _is_character(line, following):
            i = _read_dialogue(lines, i, scene)
            continue
        # action: the paragraph up to the next blank line
        paragraph: list[str] = []
        first = line.number
        while i < len(lines) and not lines[i].blank:
            raw = lines[i].text.rstrip()
            if not paragraph and raw.lstrip().startswith("!"):
                raw = raw.lstrip()[1:]
            paragraph.append(raw)
            i += 1
        body = clean_inline("\n".join(paragraph).strip("\n"))
        if body.strip():
            scene.elements.append(Action(body, first))
    if scene.elements or scene.index:
        scenes.append(scene)
    title = metadata.get("title", "").split("\n")[0]
    return Screenplay(scenes=scenes, title=title, source=source, metadata=metadata)


def _read_dialogue(lines: list[_Line], i: int, scene: Scene) -> int:
    """Read the speech whose cue is ``lines[i]`` into ``scene``; returns the index after it."""
    cue_line = lines[i]
    cue = cue_line.stripped
    dual = cue.endswith("^")
    name, extensions = split_cue(cue)
    continued = any(is_continued(e) for e in extensions)
    extension = ", ".join(e for e in extensions if not is_continued(e))
    spoken: list[str] = []
    wrylies: list[str] = []
    i += 1
    while i < len(lines) and not lines[i].blank:
        text = lines[i].stripped
        if text.startswith("(") and text.endswith(")"):
            wrylies.append(clean_inline(text[1:-1].strip()))
        elif text:
            spoken.append(clean_inline(text.lstrip("~").strip()))
        i += 1
    block = DialogueBlock(
        character=name,
        text=" ".join(" ".join(spoken).split()),
        extension=extension,
        parenthetical="; ".join(wrylies),
        dual=dual,
        continued=continued,
        line=cue_line.number,
    )
    if dual and scene.elements and isinstance(scene.elements[-1], DialogueBlock):
        scene.elements[-1].dual = True
    scene.elements.append(block)
    return i
