"""Fountain parsing on screenplays written here: every element kind, names, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from soul_studio.script import DialogueBlock, ScreenplayError, parse_fountain, parse_screenplay
from soul_studio.script.model import Action, Transition
from soul_studio.script.names import normalise_character_name, split_cue

SCRIPT = """\
Title: *Night* Shift
Credit: Written by
Author: R. Writer
    and A. Partner

FADE IN:

INT. DINER - NIGHT #4A#

Rain on the windows. [[Lighting: neon only.]]

JOHN (V.O.)
(quietly)
We closed at two.
Nobody left.

MARÍA
¿Por qué *no*?

/* a speech the writer cut
JOHN
You never listen.
*/

JOHN (CONT'D)
Because of the _storm_.

BEN (O.S.)
Left column.

ADA ^
Right column.

@McCLANE
Yippee.

!THE DOOR SLAMS.

ZOË
~Row, row, row
(beat)
your boat. [[sung badly
across two lines]] Gently.

JOHN
Two parts.
\x20\x20
Of one speech.

CUT TO:

.FLASHBACK

EXT. HARBOUR - DAWN

> THE END <
"""


@pytest.fixture
def play():
    return parse_fountain(SCRIPT, "night.fountain")


def test_title_page(play):
    assert play.title == "Night Shift"
    assert play.metadata["author"] == "R. Writer\nand A. Partner"


def test_scenes_headings_numbers(play):
    assert [(s.index, s.heading) for s in play.scenes] == [
        (0, ""),
        (1, "INT. DINER - NIGHT"),
        (2, "FLASHBACK"),
        (3, "EXT. HARBOUR - DAWN"),
    ]
    assert play.scene(1).number == "4A"
    assert play.scene(1).line == 8
    assert play.scenes[0].elements == [Action("FADE IN:", 6)]  # not a transition: only "TO:" ends one
    with pytest.raises(KeyError):
        play.scene(9)


def test_dialogue_blocks(play):
    blocks = play.scene(1).dialogue
    cues = [(b.character, b.extension, b.continued, b.dual) for b in blocks]
    assert cues == [
        ("JOHN", "V.O.", False, False),
        ("MARÍA", "", False, False),
        ("JOHN", "", True, False),
        ("BEN", "O.S.", False, True),
        ("ADA", "", False, True),
        ("McCLANE", "", False, False),
        ("ZOË", "", False, False),
        ("JOHN", "", False, False),
    ]
    assert blocks[0] == DialogueBlock("JOHN", "We closed at two. Nobody left.", "V.O.", "quietly", line=12)
    assert blocks[1].text == "¿Por qué no?"  # emphasis markers gone
    assert blocks[2].text == "Because of the storm."
    assert blocks[6].text == "Row, row, row your boat. Gently."  # lyric marker and two-line note gone
    assert blocks[6].parenthetical == "beat"
    assert blocks[7].text == "Two parts. Of one speech."  # "  " keeps the speech together
    source = SCRIPT.split("\n")
    for block in blocks:  # line numbers survive the removed note and boneyard
        assert source[block.line - 1].lstrip("@").startswith(block.character)


def test_boneyard_and_notes_are_ignored(play):
    everything = " ".join(
        e.text for s in play.scenes for e in s.elements if isinstance(e, (Action, DialogueBlock, Transition))
    )
    assert "never listen" not in everything
    assert "neon" not in everything and "sung badly" not in everything
    assert play.scene(1).elements[0] == Action("Rain on the windows.", 10)


def test_forced_and_other_elements(play):
    scene = play.scene(1)
    actions = [e.text for e in scene.elements if isinstance(e, Action)]
    assert "THE DOOR SLAMS." in actions
    assert [e.text for e in scene.elements if isinstance(e, Transition)] == ["CUT TO:"]
    assert play.scene(2).elements == []  # an empty scene is kept, with no dialogue
    assert play.scene(3).elements == [Action("THE END", 56)]


def test_speakers_are_normalised(play):
    assert play.characters == ["John", "María", "Ben", "Ada", "McCLANE", "Zoë"]
    assert play.scene(1).dialogue[0].speaker == "John"
    assert play.scene(1).dialogue[0].cue == "JOHN (V.O.)"


def test_uppercase_action_is_not_a_character():
    play = parse_fountain("INT. ROOM - DAY\n\nBANG.\n\nA WINDOW BREAKS\n\nTOM\nHello.\n")
    scene = play.scene(1)
    assert [type(e).__name__ for e in scene.elements] == ["Action", "Action", "DialogueBlock"]
    assert scene.elements[0].text == "BANG."


@pytest.mark.parametrize(
    ("cue", "name"),
    [
        ("JOHN (V.O.)", "John"),
        ("MARÍA", "María"),
        ("JOHN (CONT'D)", "John"),
        ("JEAN-LUC (O.S.) (CONT’D) ^", "Jean-Luc"),
        ("O'BRIEN", "O'Brien"),
        ("JOHN'S MOM", "John's Mom"),
        ("@McCLANE", "McCLANE"),
        ("DR. SMITH", "Dr. Smith"),
        ("HENRY VIII", "Henry VIII"),
        ("ÉLODIE", "Élodie"),
    ],
)
def test_normalise_character_name(cue, name):
    assert normalise_character_name(cue) == name


def test_split_cue_keeps_all_extensions():
    assert split_cue("@JOHN (V.O.) (CONT'D) ^") == ("JOHN", ["V.O.", "CONT'D"])


def test_unclosed_boneyard_names_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.fountain"
    path.write_text("INT. ROOM - DAY\n\nTOM\nHi.\n\n/* cut from here\n\nANNA\nBye.\n", encoding="utf-8")
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(path)
    assert info.value.line == 6
    assert str(info.value).startswith(f"{path}:6: boneyard /* is never closed")


def test_unclosed_note_names_line():
    with pytest.raises(ScreenplayError) as info:
        parse_fountain("INT. ROOM - DAY\n\nTOM\nHi [[this note\nnever ends.\n", "x.fountain")
    assert (info.value.path, info.value.line) == ("x.fountain", 4)


def test_not_utf8_names_line(tmp_path: Path):
    path = tmp_path / "latin1.fountain"
    path.write_bytes("INT. CAFÉ - DAY\n\nTOM\nHi.\n".encode() + "\nRENÉ\nSalut.\n".encode("latin-1"))
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(path)
    assert info.value.line == 6 and "UTF-8" in info.value.reason


def test_binary_file_and_empty_file_are_refused(tmp_path: Path):
    binary = tmp_path / "photo.fountain"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ScreenplayError, match="binary data"):
        parse_screenplay(binary)
    prose = tmp_path / "notes.txt"
    prose.write_text("just some notes\n\nnothing else\n", encoding="utf-8")
    with pytest.raises(ScreenplayError, match="no scene headings or dialogue"):
        parse_screenplay(prose)
    with pytest.raises(ScreenplayError, match="file not found"):
        parse_screenplay(tmp_path / "missing.fountain")


def test_crlf_and_bom(tmp_path: Path):
    path = tmp_path / "win.fountain"
    path.write_bytes("\ufeffINT. ROOM - DAY\r\n\r\nTOM\r\n(dry)\r\nHi.\r\n".encode())
    play = parse_screenplay(path)
    assert play.title == "win"
    assert play.scene(1).dialogue == [DialogueBlock("TOM", "Hi.", parenthetical="dry", line=3)]
