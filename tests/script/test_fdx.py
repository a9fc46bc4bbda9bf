"""Final Draft (.fdx) parsing: scenes, cues with extensions, parentheticals, dual dialogue, bad XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from soul_studio.script import DialogueBlock, ScreenplayError, parse_fdx, parse_screenplay
from soul_studio.script.model import Action, Transition

FDX = """<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<FinalDraft DocumentType="Script" Template="No" Version="5">
  <Content>
    <Paragraph Number="1" Type="Scene Heading">
      <SceneProperties Length="1" Page="1" Title=""/>
      <Text>INT. ENGINE ROOM - NIGHT</Text>
    </Paragraph>
    <Paragraph Type="Action"><Text>Steam everywhere. </Text><Text Style="Bold">KAI</Text><Text> crawls in.</Text></Paragraph>
    <Paragraph Type="Character"><Text>KAI (O.S.)</Text></Paragraph>
    <Paragraph Type="Parenthetical"><Text>(coughing)</Text></Paragraph>
    <Paragraph Type="Dialogue"><Text>Is anyone</Text><Text> down here?</Text></Paragraph>
    <Paragraph Type="Character"><Text>SØREN</Text></Paragraph>
    <Paragraph Type="Dialogue"><Text>Over here!</Text></Paragraph>
    <Paragraph>
      <DualDialogue>
        <Paragraph Type="Character"><Text>KAI (CONT'D)</Text></Paragraph>
        <Paragraph Type="Dialogue"><Text>Hold on.</Text></Paragraph>
        <Paragraph Type="Character"><Text>SØREN</Text></Paragraph>
        <Paragraph Type="Dialogue"><Text>Hurry.</Text></Paragraph>
      </DualDialogue>
    </Paragraph>
    <Paragraph Type="Transition"><Text>CUT TO:</Text></Paragraph>
    <Paragraph Number="2" Type="Scene Heading"><Text>EXT. DECK - CONTINUOUS</Text></Paragraph>
    <Paragraph Number="3" Type="Scene Heading"><Text>INT. BRIDGE - NIGHT</Text></Paragraph>
    <Paragraph Type="Character"><Text>CAPTAIN</Text></Paragraph>
    <Paragraph Type="Dialogue"><Text>Full stop.</Text></Paragraph>
  </Content>
  <TitlePage><Content><Paragraph Type="Title"><Text>Below Deck</Text></Paragraph></Content></TitlePage>
</FinalDraft>
"""


def test_fdx_scenes_and_dialogue():
    play = parse_fdx(FDX.encode(), "ship.fdx")
    assert play.title == "Below Deck"
    assert [(s.index, s.number, s.heading) for s in play.scenes] == [
        (1, "1", "INT. ENGINE ROOM - NIGHT"),
        (2, "2", "EXT. DECK - CONTINUOUS"),
        (3, "3", "INT. BRIDGE - NIGHT"),
    ]
    first = play.scene(1)
    assert first.elements[0] == Action("Steam everywhere. KAI crawls in.")
    assert first.dialogue == [
        DialogueBlock("KAI", "Is anyone down here?", extension="O.S.", parenthetical="coughing"),
        DialogueBlock("SØREN", "Over here!"),
        DialogueBlock("KAI", "Hold on.", dual=True, continued=True),
        DialogueBlock("SØREN", "Hurry.", dual=True),
    ]
    assert first.elements[-1] == Transition("CUT TO:")
    assert first.characters == ["Kai", "Søren"]
    assert play.scene(2).dialogue == []
    assert play.scene(3).dialogue[0].text == "Full stop."


def test_fdx_by_suffix_and_by_content(tmp_path: Path):
    named = tmp_path / "ship.fdx"
    named.write_text(FDX, encoding="utf-8")
    sniffed = tmp_path / "ship.script"
    sniffed.write_text(FDX, encoding="utf-8")
    assert parse_screenplay(named).scenes == parse_screenplay(sniffed).scenes


def test_malformed_xml_names_line(tmp_path: Path):
    path = tmp_path / "cut.fdx"
    path.write_text(FDX.replace("<Text>Over here!</Text>", "<Text>Over here!</Txt>"), encoding="utf-8")
    with pytest.raises(ScreenplayError) as info:
        parse_screenplay(path)
    assert info.value.path == str(path)
    assert info.value.line == FDX.split("\n").index('    <Paragraph Type="Dialogue"><Text>Over here!</Text></Paragraph>') + 1
    assert "not well-formed XML" in str(info.value)


def test_entities_are_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><FinalDraft><Content/></FinalDraft>'
    with pytest.raises(ScreenplayError, match="DTD or entity"):
        parse_fdx(bomb, "bomb.fdx")


def test_not_final_draft_and_orphan_dialogue():
    with pytest.raises(ScreenplayError, match="not a Final Draft document"):
        parse_fdx(b"<html><body/></html>", "page.fdx")
    orphan = b'<FinalDraft><Content><Paragraph Type="Dialogue"><Text>Hi</Text></Paragraph></Content></FinalDraft>'
    with pytest.raises(ScreenplayError, match="paragraph 1: Dialogue without a Character"):
        parse_fdx(orphan, "orphan.fdx")
