"""A parsed screenplay: scenes of action, dialogue and transitions, whatever the file format.

Fountain and Final Draft files both land here, so scene building never cares where a
script came from. Line numbers point back into the source for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from soul_studio.script.names import normalise_character_name


@dataclass
class Action:
    """Scene description; the action just before a speech becomes that shot's prompt hint."""

    text: str
    line: int | None = None


@dataclass
class Transition:
    """CUT TO:, FADE OUT. and the like; kept for previews, never turned into shots."""

    text: str
    line: int | None = None


@dataclass
class DialogueBlock:
    """One speech: the cue (``character`` as written, without extensions) and its lines.

    ``extension`` holds V.O., O.S. and friends (CONT'D goes to ``continued``);
    ``parenthetical`` joins the speech's wrylies without their brackets; ``dual`` marks
    both halves of side-by-side dialogue.
    """

    character: str
    text: str
    extension: str = ""
    parenthetical: str = ""
    dual: bool = False
    continued: bool = False
    line: int | None = None

    @property
    def speaker(self) -> str:
        """The cast name this speech belongs to ("JOHN" → "John")."""
        return normalise_character_name(self.character)

    @property
    def cue(self) -> str:
        """The cue as a script shows it: ``JOHN (V.O.)``."""
        return f"{self.character} ({self.extension})" if self.extension else self.character


Element = Action | DialogueBlock | Transition


@dataclass
class Scene:
    """A scene heading and everything up to the next one. ``index`` counts from 1.

    Index 0 is reserved for material before the first heading (only present when there
    is some), so ``--scene 3`` always means the third heading of the script.
    """

    heading: str
    index: int
    elements: list[Element] = field(default_factory=list)
    number: str = ""
    line: int | None = None

    @property
    def dialogue(self) -> list[DialogueBlock]:
        return [e for e in self.elements if isinstance(e, DialogueBlock)]

    @property
    def characters(self) -> list[str]:
        """Speakers in order of first appearance, normalised and de-duplicated."""
        seen: dict[str, str] = {}
        for block in self.dialogue:
            name = block.speaker
            seen.setdefault(name.casefold(), name)
        return list(seen.values())

    @property
    def title(self) -> str:
        """What a scene list shows: number and heading."""
        label = self.number or str(self.index)
        return f"{label}. {self.heading or '(no heading)'}"


@dataclass
class Screenplay:
    """A whole script: title-page fields and its scenes in order."""

    scenes: list[Scene] = field(default_factory=list)
    title: str = ""
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def characters(self) -> list[str]:
        seen: dict[str, str] = {}
        for scene in self.scenes:
            for name in scene.characters:
                seen.setdefault(name.casefold(), name)
        return list(seen.values())

    def scene(self, index: int) -> Scene:
        """The scene with ``index`` (1 = first heading); KeyError when there is none."""
        for scene in self.scenes:
            if scene.index == index:
                return scene
        raise KeyError(index)
