"""Final Draft ``.fdx`` (XML) → :class:`Screenplay`.

An FDX body is a flat list of ``<Paragraph Type="...">`` elements (Scene Heading,
Action, Character, Parenthetical, Dialogue, Transition, …), with side-by-side speeches
wrapped in ``<DualDialogue>``. Documents that declare a DTD or entities are refused:
Final Draft never writes them and they are how XML bombs and external-entity reads work.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from soul_studio.script.errors import ScreenplayError
from soul_studio.script.model import Action, DialogueBlock, Scene, Screenplay, Transition
from soul_studio.script.names import is_continued, split_cue

_UNSAFE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _text(paragraph: ET.Element) -> str:
    """The paragraph's words: every ``<Text>`` run joined, whitespace tidied."""
    runs = [t.text or "" for t in paragraph.iter("Text")]
    return " ".join("".join(runs).split())


class _Builder:
    """Collects paragraphs into scenes, pairing each Character with the speech below it."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.scenes: list[Scene] = []
        self.scene = Scene(heading="", index=0)
        self.count = 0
        self.block: DialogueBlock | None = None
        self.wrylies: list[str] = []
        self.spoken: list[str] = []

    def _close_block(self) -> None:
        if self.block is not None:
            self.block.text = " ".join(self.spoken)
            self.block.parenthetical = "; ".join(self.wrylies)
            self.scene.elements.append(self.block)
        self.block, self.wrylies, self.spoken = None, [], []

    def paragraph(self, p: ET.Element, ordinal: int, dual: bool = False) -> None:
        kind = (p.get("Type") or "").strip().lower()
        text = _text(p)
        if kind in ("parenthetical", "dialogue") and self.block is not None:
            if kind == "parenthetical":
                self.wrylies.append(text.strip().removeprefix("(").removesuffix(")").strip())
            elif text:
                self.spoken.append(text)
            return
        self._close_block()
        if kind == "scene heading":
            if self.scene.elements or self.scene.index:
                self.scenes.append(self.scene)
            self.count += 1
            self.scene = Scene(heading=text, index=self.count, number=p.get("Number", ""), line=None)
        elif kind == "character":
            if not text:
                raise ScreenplayError(self.source, f"paragraph {ordinal}: Character paragraph without a name")
            name, extensions = split_cue(text)
            self.block = DialogueBlock(
                character=name,
                text="",
                extension=", ".join(e for e in extensions if not is_continued(e)),
                continued=any(is_continued(e) for e in extensions),
                dual=dual,
                line=None,
            )
        elif kind == "transition" and text:
            self.scene.elements.append(Transition(text))
        elif kind in ("parenthetical", "dialogue"):
            raise ScreenplayError(self.source, f"paragraph {ordinal}: {p.get('Type')} without a Character above it")
        elif text and kind not in ("cast list", "page break"):
            self.scene.elements.append(Action(text))

    def finish(self) -> list[Scene]:
        self._close_block()
        if self.scene.elements or self.scene.index:
            self.scenes.append(self.scene)
        return self.scenes


def parse_fdx(data: bytes, source: str = "<fdx>") -> Screenplay:
    """Parse the bytes of a Final Draft file; ``source`` names it in error messages."""
    if _UNSAFE.search(data):
        raise ScreenplayError(source, "XML with a DTD or entity declarations is refused (Final Draft never writes one)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ScreenplayError(source, f"not well-formed XML ({exc})", line) from exc
    if root.tag != "FinalDraft":
        raise ScreenplayError(source, f"not a Final Draft document (root element <{root.tag}>)", 1)
    content = root.find("Content")
    if content is None:
        raise ScreenplayError(source, "Final Draft document has no <Content>")
    builder = _Builder(source)
    ordinal = 0
    for p in content.findall("Paragraph"):
        ordinal += 1
        duals = p.findall("DualDialogue")
        if duals:
            builder._close_block()
            for inner in duals[0].findall("Paragraph"):
                ordinal += 1
                builder.paragraph(inner, ordinal, dual=True)
            builder._close_block()
            continue
        builder.paragraph(p, ordinal)
    title = ""
    title_page = root.find("TitlePage")
    if title_page is not None:
        for p in title_page.iter("Paragraph"):
            title = _text(p)
            if title:
                break
    return Screenplay(scenes=builder.finish(), title=title, source=source)
