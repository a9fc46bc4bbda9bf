"""Edit ▸ and Timeline ▸ commands an editor drives from the keyboard, each one undo step.

New Shot (for the current character, from an audio file, from a script line); insert,
overwrite and append at the playhead; close gap; ripple trims of the clip under the
playhead to the playhead (Q / W) and a roll of the nearest cut to it (E). Clips split
by these commands keep their picture (:func:`split_keeping_picture`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QInputDialog

from engine.media import MediaError, probe_audio
from soul_studio.project.cutting import CutError, append, close_gap, insert, overwrite, roll_edit
from soul_studio.project.edits import Edit
from soul_studio.project.edits_extra import CompoundEdit
from soul_studio.project.model import Character, Placement, Shot, Voice
from soul_studio.project.ripple import ripple_trim
from soul_studio.render.split import split_keeping_picture
from soul_studio.script import ScriptError, espeak_available
from soul_studio.script.temp_voice import render_temp_voice, temp_voice_folder

if TYPE_CHECKING:
    from soul_studio.ui.main_window import MainWindow

WORDS_PER_SECOND = 2.6  # reading pace for a line that has no recording yet
LINE_RE = re.compile(r"^\s*([^:]{1,40}):\s*(.+)$")


class EditCommands(QObject):
    """The window's editing commands; each reports problems in the status bar, never raises."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ask_audio: Callable[[], str] = lambda: QFileDialog.getOpenFileName(
            window, "New Shot from Audio", str(window.document.project.folder or ""),
            "Audio (*.wav *.mp3 *.m4a *.flac *.ogg *.aif *.aiff)")[0]
        self.ask_line: Callable[[], str] = self._ask_line

    # ----------------------------------------------------------- helpers
    @property
    def project(self):  # noqa: ANN201 - the open Project
        return self.window.document.project

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 5000)

    def _push(self, edit: Edit, select: list[str] | None = None) -> bool:
        try:
            self.window.document.push(edit)
        except (CutError, ValueError) as exc:
            self._say(str(exc))
            return False
        if select:
            self.window.editor.select(select)
        return True

    def _push_built(self, build: Callable[[], Edit], select: list[str] | None = None) -> bool:
        """Build an edit (which may refuse: a locked track, a clip in the way) and push it."""
        try:
            edit = build()
        except ValueError as exc:
            self._say(str(exc))
            return False
        return self._push(edit, select)

    def target_track(self) -> str:
        """The video track of the current shot (V1 when none is selected)."""
        current = self.window.editor.current_shot
        return self.project.placements_track(current) if current else "V1"

    def current_character(self) -> Character | None:
        shot_id = self.window.editor.current_shot
        shot = self.project.shots.get(shot_id) if shot_id else None
        if shot is not None and shot.character_id:
            return self.project.character(shot.character_id)
        chosen = self.window.cast.character
        return chosen if chosen is not None else (self.project.characters[0] if self.project.characters else None)

    def _under_playhead(self, track: str, frame: int) -> Placement | None:
        return next((p for p in self.project.track_placements(track) if p.start < frame < p.end), None)

    def _with_split(self, track: str, frames: list[int], then: Callable[[], Edit]) -> Edit:
        """Split clips of ``track`` at ``frames`` (keeping their picture), then the edit ``then`` builds."""
        done: list[Edit] = []
        try:
            for frame in frames:
                p = self._under_playhead(track, frame)
                if p is not None:
                    split = split_keeping_picture(self.project, p.shot.id, frame)
                    split.apply(self.project)
                    done.append(split)
            last = then()
        finally:
            for edit in reversed(done):
                edit.revert(self.project)
        return CompoundEdit([*done, last], text=last.text) if done else last

    # ---------------------------------------------------------- new shot
    def new_shot(self, character: Character | None = None, audio: Path | None = None, text: str = "",
                 temp: bool = False) -> Shot | None:
        """A shot for the character at the next cut at or after the playhead on V1 (rippling the rest)."""
        character = character or self.current_character()
        shot = Shot(character_id=character.id if character else None, text=text,
                    name=f"Shot {len(self.project.timeline.entries) + 1}")
        if audio is not None:
            try:
                info = probe_audio(audio)
            except MediaError as exc:
                self._say(f"Cannot use this audio: {exc}")
                return None
            shot.audio, shot.audio_length, shot.temp_audio = self.project.relative(audio), info.duration, temp
        elif text:
            shot.hold_seconds = round(max(1.5, len(text.split()) / WORDS_PER_SECOND + 0.6), 2)
        here = self.window.editor.playhead
        cuts = sorted({0, *(p.end for p in self.project.track_placements("V1"))})
        frame = next((c for c in cuts if c >= here), cuts[-1])
        inside = self._under_playhead("V1", here)
        if inside is not None:
            frame = inside.end
        if self._push_built(lambda: insert(self.project, shot, "V1", frame, text="New Shot"), [shot.id]):
            self.window.editor.set_playhead(frame)
            return shot
        return None

    def new_shot_from_audio(self, path: str | Path | None = None) -> Shot | None:
        chosen = path or self.ask_audio()
        return self.new_shot(audio=Path(chosen)) if chosen else None

    def new_shot_from_line(self, line: str | None = None) -> Shot | None:
        """``NAME: the line`` (a character found or added by name), or just the line for the current one."""
        text = line if line is not None else self.ask_line()
        if not text or not text.strip():
            return None
        match = LINE_RE.match(text)
        character = self.current_character()
        if match:
            name, text = match.group(1).strip(), match.group(2).strip()
            character = self.project.character_by_name(name)
            if character is None:
                from soul_studio.project.edits import AddCharacter

                character = Character(name.title(), colour=self.project.next_character_colour())
                self.window.document.push(AddCharacter(character))
        temp = self._temp_voice(text.strip(), character)
        if temp is not None:
            return self.new_shot(character, audio=temp, text=text.strip(), temp=True)
        return self.new_shot(character, text=text.strip())

    def _temp_voice(self, text: str, character: Character | None) -> Path | None:
        """The line spoken by the character's espeak-ng voice (a temp line), or None without espeak."""
        if not espeak_available() or self.project.folder is None:
            return None
        try:
            line = render_temp_voice(text, character.voice if character else Voice(), temp_voice_folder(self.project),
                                     label=character.name if character else "")
        except (OSError, ValueError, ScriptError) as exc:
            self._say(f"No temp voice ({exc}); the shot holds silently")
            return None
        return line.path

    def _ask_line(self) -> str:
        text, ok = QInputDialog.getText(self.window, "New Shot from Script Line",
                                        "Line (NAME: what they say)")
        return text if ok else ""

    # ------------------------------------------------- insert / overwrite
    def _source(self) -> Shot | None:
        """What insert/overwrite lay down: the audio chosen in the media bin, else a copy of the current shot."""
        bin_items = [m for m in self.window.media.selected_items() if m.kind == "audio"]
        character = self.current_character()
        if bin_items:
            item = bin_items[0]
            return Shot(character_id=character.id if character else None, audio=item.path,
                        audio_length=item.duration, name=Path(item.path).stem)
        current = self.window.editor.current_shot
        if current and current in self.project.shots:
            import copy

            from soul_studio.project.model import new_id

            shot = copy.deepcopy(self.project.shots[current])
            shot.id, shot.takes, shot.picked_take = new_id(), [], None
            shot.name = (shot.name or "Shot") + " (copy)"
            return shot
        self._say("Choose a dialogue file in the Media bin or a shot to lay down")
        return None

    def insert_at_playhead(self) -> None:
        shot = self._source()
        if shot is None:
            return
        track, here = self.target_track(), self.window.editor.playhead
        self._push_built(lambda: self._with_split(track, [here], lambda: insert(self.project, shot, track, here)),
                         [shot.id])

    def overwrite_at_playhead(self) -> None:
        shot = self._source()
        if shot is None:
            return
        track, here = self.target_track(), self.window.editor.playhead
        end = here + shot.frames(self.project.fps)
        self._push_built(lambda: self._with_split(track, [here, end], lambda: overwrite(self.project, shot, track, here)),
                         [shot.id])

    def append_to_end(self) -> None:
        shot = self._source()
        if shot is not None:
            self._push_built(lambda: append(self.project, shot, self.target_track()), [shot.id])

    def close_gap(self) -> None:
        self._push_built(lambda: close_gap(self.project, self.target_track(), self.window.editor.playhead))

    # -------------------------------------------------------------- trims
    def _clip_at_playhead(self) -> Placement | None:
        here = self.window.editor.playhead
        track = self.target_track()
        return next((p for p in self.project.track_placements(track) if p.start <= here < p.end), None)

    def ripple_trim_start(self) -> None:
        """Q: cut the clip's head off up to the playhead; what follows moves up."""
        p = self._clip_at_playhead()
        if p is None or self.window.editor.playhead == p.start:
            self._say("Put the playhead inside a clip to trim its start")
            return
        if self._push_built(lambda: ripple_trim(self.project, p.shot.id, head_frames=self.window.editor.playhead - p.start,
                                                handles=False)):
            self.window.editor.set_playhead(p.start)

    def ripple_trim_end(self) -> None:
        """W: cut the clip's tail off from the playhead; what follows moves up."""
        p = self._clip_at_playhead()
        if p is None:
            self._say("Put the playhead inside a clip to trim its end")
            return
        self._push_built(lambda: ripple_trim(self.project, p.shot.id, tail_frames=p.end - self.window.editor.playhead,
                                             handles=False))

    def roll_to_playhead(self) -> None:
        """E: move the nearest cut between two touching clips to the playhead."""
        here = self.window.editor.playhead
        places = self.project.track_placements(self.target_track())
        cuts = [(abs(a.end - here), a) for a, b in zip(places, places[1:]) if a.end == b.start]
        if not cuts:
            self._say("There is no cut between two touching clips to roll")
            return
        _, left = min(cuts, key=lambda c: c[0])
        self._push_built(lambda: roll_edit(self.project, left.shot.id, "tail", here - left.end))

    # ------------------------------------------------------------- wiring
    def register(self, action: Callable[..., object]) -> None:
        """Create the window actions (``action`` is MainWindow._action)."""
        action("new_shot", "New &Shot", lambda: self.new_shot(), "Ctrl+Alt+N")
        action("new_shot_audio", "New Shot from &Audio File…", lambda: self.new_shot_from_audio(), "Ctrl+Alt+A")
        action("new_shot_line", "New Shot from Script &Line…", lambda: self.new_shot_from_line(), "Ctrl+Alt+L")
        action("insert", "&Insert at Playhead", self.insert_at_playhead, ",")
        action("overwrite", "&Overwrite at Playhead", self.overwrite_at_playhead, ".")
        action("append", "&Append to End", self.append_to_end, "Ctrl+Alt+End")
        action("close_gap", "Close &Gap", self.close_gap, "Shift+G")
        action("ripple_start", "Ripple Trim Start to Playhead", self.ripple_trim_start, "Q")
        action("ripple_end", "Ripple Trim End to Playhead", self.ripple_trim_end, "W")
        action("roll", "Roll Edit to Playhead", self.roll_to_playhead, "E")
