"""The Inspector: every field of the selected shot, its render buttons and its takes.

Each widget change becomes a SetShotFields edit; typing in a text box merges into one
undo step per field. Refreshes from the document never clobber the field being typed.
"""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.media import MediaError, probe_audio
from soul_studio.project.edits import SetShotFields
from soul_studio.project.model import FRAMINGS, Shot
from soul_studio.project.ripple import ripple_fields
from soul_studio.ui.document import Document
from soul_studio.ui.fields import WheelGuard
from soul_studio.ui.state import EditorState
from soul_studio.ui.take_picker import TakeActions, TakeList
from soul_studio.ui.theme import icon
from soul_studio.ui.two_shot import TwoShotBox

FRAMING_LABELS = {"portrait": "Portrait (head)", "upper_body": "Upper body", "full_body": "Full body"}
# Fields whose change makes the clip longer or shorter: edited as a ripple that keeps sync.
_LENGTH_FIELDS = {"audio_in", "audio_out", "handle_head", "handle_tail", "hold_seconds", "audio", "audio_length"}


def _empty_line(shot: Shot, changes: dict[str, object]) -> str | None:
    """Why typed in/out points leave no line (the out point at or before the in point), or None."""
    if "audio" in changes or not shot.audio or not {"audio_in", "audio_out"} & set(changes):
        return None
    start = changes.get("audio_in", shot.audio_in)
    end = changes.get("audio_out", shot.audio_out)
    end = end if end is not None else shot.audio_length
    if isinstance(start, float | int) and isinstance(end, float | int) and end <= start:
        return f"the out point ({end:g} s) must come after the in point ({start:g} s)"
    return None


class Inspector(QWidget):
    """Shot properties panel."""

    render_requested = Signal(list, str)  # shot ids, quality
    take_activated = Signal(str, str)  # shot id, take id
    error = Signal(str, str)

    def __init__(self, document: Document, editor: EditorState, parent: QWidget | None = None,
                 take_actions: TakeActions | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self._updating = False
        self._shot_id: str | None = None

        self.stack = QStackedWidget()
        empty = QLabel("Select a shot on the timeline\nto edit its line, dialogue and picture.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setObjectName("dim")
        self.stack.addWidget(empty)

        form_host = QWidget()
        col = QVBoxLayout(form_host)
        col.setContentsMargins(10, 8, 10, 10)
        col.setSpacing(10)
        self.heading = QLabel("")
        self.heading.setStyleSheet("font-size: 14px; font-weight: 600; color: #eceef1;")
        col.addWidget(self.heading)

        shot_box = QGroupBox("Shot")
        form = self._form(shot_box)
        self.name = QLineEdit()
        self.name.setPlaceholderText("Shot name")
        self.name.textEdited.connect(lambda t: self._set({"name": t}))
        form.addRow("Name", self.name)
        self.character = QComboBox()
        self.character.activated.connect(self._character_chosen)
        form.addRow("Character", self.character)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("The line this character speaks")
        self.text.setFixedHeight(70)
        self.text.textChanged.connect(lambda: self._set({"text": self.text.toPlainText()}))
        form.addRow("Line", self.text)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Acting and look (empty: the character's prompt)")
        self.prompt.setFixedHeight(54)
        self.prompt.textChanged.connect(lambda: self._set({"prompt": self.prompt.toPlainText()}))
        form.addRow("Prompt", self.prompt)
        col.addWidget(shot_box)

        audio_box = QGroupBox("Dialogue")
        form = self._form(audio_box)
        row = QHBoxLayout()
        self.audio_label = QLabel("—")
        self.audio_label.setObjectName("dim")
        self.audio_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.audio_label, 1)
        browse = QToolButton()
        browse.setIcon(icon("folder"))
        browse.setToolTip("Choose the dialogue recording")
        browse.clicked.connect(self._browse_audio)
        row.addWidget(browse)
        form.addRow("Audio", row)
        self.audio_in = self._seconds_box()
        self.audio_in.valueChanged.connect(lambda v: self._set({"audio_in": round(v, 3)}))
        form.addRow("In", self.audio_in)
        self.audio_out = self._seconds_box()
        self.audio_out.valueChanged.connect(lambda v: self._set({"audio_out": round(v, 3)}))
        form.addRow("Out", self.audio_out)
        self.hold = self._seconds_box()
        self.hold.setMinimum(0.05)
        self.hold.valueChanged.connect(lambda v: self._set({"hold_seconds": round(v, 3)}))
        form.addRow("Hold", self.hold)
        self.handle_head = self._seconds_box()
        self.handle_head.setToolTip("Silence before the line: a pause, a breath, a look")
        self.handle_head.valueChanged.connect(lambda v: self._set({"handle_head": round(v, 3)}))
        form.addRow("Pause before", self.handle_head)
        self.handle_tail = self._seconds_box()
        self.handle_tail.setToolTip("Silence after the line: the reaction")
        self.handle_tail.valueChanged.connect(lambda v: self._set({"handle_tail": round(v, 3)}))
        form.addRow("Hold after", self.handle_tail)
        self.length = QLabel("")
        self.length.setObjectName("dim")
        form.addRow("Length", self.length)
        col.addWidget(audio_box)
        self.two_shot = TwoShotBox(document)
        self.two_shot.error.connect(self.error)
        col.addWidget(self.two_shot)

        pic_box = QGroupBox("Picture")
        form = self._form(pic_box)
        self.framing = QComboBox()
        self.framing.addItem("From character", None)
        for f in FRAMINGS:
            self.framing.addItem(FRAMING_LABELS[f], f)
        self.framing.activated.connect(lambda _i: self._set({"framing": self.framing.currentData()}))
        form.addRow("Framing", self.framing)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.valueChanged.connect(lambda v: self._set({"seed": int(v)}))
        seed_row.addWidget(self.seed, 1)
        dice = QToolButton()
        dice.setIcon(icon("retry"))
        dice.setToolTip("New random seed")
        dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, 2**31 - 1)))
        seed_row.addWidget(dice)
        form.addRow("Seed", seed_row)
        self.quality = QComboBox()
        self.quality.addItem("Draft (fast preview)", "draft")
        self.quality.addItem("Final (delivery)", "final")
        form.addRow("Quality", self.quality)
        buttons = QHBoxLayout()
        self.render_button = QPushButton("Render")
        self.render_button.setObjectName("primary")
        self.render_button.setIcon(icon("render"))
        self.render_button.clicked.connect(
            lambda: self.render_requested.emit(self.editor.selection or [self._shot_id], self.quality.currentData()))
        buttons.addStretch(1)
        buttons.addWidget(self.render_button)
        form.addRow(buttons)
        col.addWidget(pic_box)

        takes_box = QGroupBox("Takes")
        takes_layout = QVBoxLayout(takes_box)
        takes_layout.setContentsMargins(6, 10, 6, 6)
        self.take_actions = take_actions or TakeActions(document, self)
        self.takes = TakeList(self.take_actions)
        self.takes.itemDoubleClicked.connect(self._take_clicked)
        takes_layout.addWidget(self.takes)
        col.addWidget(takes_box)
        col.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form_host)
        self.stack.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        for text_box in (self.text, self.prompt):
            text_box.setTabChangesFocus(True)  # Tab moves on, as in every form; the line has no tabs
        self._wheel_guard = WheelGuard(self)
        for box in (self.audio_in, self.audio_out, self.hold, self.seed, self.character, self.framing, self.quality,
                    self.handle_head, self.handle_tail):
            self._wheel_guard.protect(box)
        editor.selection_changed.connect(self.refresh)
        document.changed.connect(self._on_changed)
        self.refresh()

    def _form(self, box: QGroupBox) -> QFormLayout:
        form = QFormLayout(box)
        form.setContentsMargins(10, 12, 10, 10)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(7)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return form

    def _seconds_box(self) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setDecimals(3)
        box.setRange(0.0, 36000.0)
        box.setSingleStep(0.04)
        box.setSuffix(" s")
        box.setKeyboardTracking(False)
        return box

    def set_document(self, document: Document) -> None:
        self.document.changed.disconnect(self._on_changed)
        self.document = document
        self.two_shot.document = document
        self.take_actions.document = document
        document.changed.connect(self._on_changed)
        self.refresh()

    # ---------------------------------------------------------------- edits
    @property
    def shot(self) -> Shot | None:
        if self._shot_id is None:
            return None
        return self.document.project.shots.get(self._shot_id)

    def _set(self, changes: dict[str, object]) -> None:
        if self._updating or self.shot is None:
            return
        shot = self.shot
        if all(getattr(shot, k) == v for k, v in changes.items()):
            return
        try:
            problem = _empty_line(shot, changes)
            if problem:
                raise ValueError(problem)
            edit = ripple_fields(self.document.project, shot.id, changes) if _LENGTH_FIELDS & set(changes) else None
            self.document.push(edit or SetShotFields(shot.id, changes))
        except (ValueError, AttributeError) as exc:  # CutError is a ValueError: a locked track, a collision
            self.refresh()  # the fields show the shot as it still is, not the refused value
            self.error.emit("Cannot change the shot", str(exc))

    def _character_chosen(self, _index: int) -> None:
        self._set({"character_id": self.character.currentData()})

    def _browse_audio(self) -> None:
        shot = self.shot
        if shot is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Dialogue audio", str(self.document.project.folder or ""),
                                              "Audio (*.wav *.mp3 *.m4a *.flac *.ogg *.aif *.aiff)")
        if path:
            self.set_audio(Path(path))

    def set_audio(self, path: Path) -> None:
        try:
            info = probe_audio(path)
        except MediaError as exc:
            self.error.emit("Cannot use this audio", str(exc))
            return
        project = self.document.project
        self._set({"audio": project.relative(path), "audio_in": 0.0, "audio_out": None,
                   "audio_length": info.duration, "temp_audio": False})

    def _take_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if self._shot_id is not None:
            self.take_activated.emit(self._shot_id, item.data(0, Qt.ItemDataRole.UserRole))

    # -------------------------------------------------------------- refresh
    def _on_changed(self, kind: str, subject: object) -> None:
        if kind in ("shot", "takes") and isinstance(subject, Shot) and subject.id != self._shot_id:
            return
        self.refresh()

    def refresh(self) -> None:
        self._shot_id = self.editor.current_shot
        shot = self.shot
        self.two_shot.show_shot(shot)
        if shot is None:
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        project = self.document.project
        self._updating = True
        try:
            n = len(self.editor.selection)
            index = project.timeline.index_of(shot.id) + 1 if shot.id in project.timeline.shot_ids() else 0
            title = shot.name or f"Shot {index}"
            self.heading.setText(title + (f"   (+{n - 1} more selected)" if n > 1 else ""))
            if not self.name.hasFocus():
                self.name.setText(shot.name)
            self.character.clear()
            self.character.addItem("— none —", None)
            for c in project.characters:
                self.character.addItem(c.name, c.id)
            self.character.setCurrentIndex(max(0, self.character.findData(shot.character_id)))
            if self.text.toPlainText() != shot.text:
                self.text.setPlainText(shot.text)
            if self.prompt.toPlainText() != shot.prompt:
                self.prompt.setPlainText(shot.prompt)
            has_audio = bool(shot.audio)
            self.audio_label.setText(Path(shot.audio).name if shot.audio else "silent (no dialogue audio)")
            for box in (self.audio_in, self.audio_out):
                box.setEnabled(has_audio)
                box.setMaximum(shot.audio_length or 36000.0)
            self.audio_in.setValue(shot.audio_in)
            self.audio_out.setValue(shot.audio_out if shot.audio_out is not None else (shot.audio_length or 0.0))
            self.hold.setEnabled(not has_audio)
            self.hold.setValue(shot.hold_seconds)
            for box, value in ((self.handle_head, shot.handle_head), (self.handle_tail, shot.handle_tail)):
                box.setEnabled(has_audio)
                box.setValue(value)
            self.length.setText(f"{shot.duration:.3f} s  ·  {shot.frames(project.fps)} frames")
            self.framing.setCurrentIndex(max(0, self.framing.findData(shot.framing)))
            self.seed.setValue(shot.seed)
            self._fill_takes(shot)
        finally:
            self._updating = False

    def _fill_takes(self, shot: Shot) -> None:
        self.takes.fill(shot)
