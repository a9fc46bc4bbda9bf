"""The Inspector's Two-Shot box: a second character, their line and the picture of both.

A two-shot is rendered by the infinitetalk backend's multi-speaker adapter: each line goes
to the face of its speaker, the silent one listens. The box edits the shot's partner
fields through undoable :class:`~soul_studio.project.edits.SetShotFields` edits (one per
change), and finds the two faces in the picture with the face detector so the editor sees
which side each speaker is before rendering.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)

from engine.media import MediaError, probe_audio
from soul_studio.project.edits import SetShotFields
from soul_studio.project.model import Shot
from soul_studio.ui.document import Document
from soul_studio.ui.theme import icon

PARTNER_FIELDS = {"partner_id": None, "partner_audio": None, "partner_audio_in": 0.0, "partner_audio_out": None,
                  "partner_audio_length": None, "two_shot_image": None, "partner_left": False, "speaker_boxes": None}
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
AUDIO_FILTER = "Audio (*.wav *.mp3 *.m4a *.flac *.ogg *.aif *.aiff)"


class TwoShotBox(QGroupBox):
    """Second speaker of the selected shot; ``error`` carries (title, message) for the window."""

    error = Signal(str, str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__("Two-Shot", parent)
        self.document = document
        self._shot_id: str | None = None
        self._updating = False
        form = QFormLayout(self)
        form.setContentsMargins(10, 12, 10, 10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        note = QLabel("Rendered with both voices by the infinitetalk engine; other engines animate the shot's "
                      "own character.")
        note.setObjectName("dim")
        note.setWordWrap(True)
        form.addRow(note)
        self.partner = QComboBox()
        self.partner.setToolTip("A second character in the same picture (infinitetalk backend, multi adapter)")
        self.partner.activated.connect(self._partner_chosen)
        form.addRow("With", self.partner)
        row = QHBoxLayout()
        self.audio_label = QLabel("—")
        self.audio_label.setObjectName("dim")
        row.addWidget(self.audio_label, 1)
        self.audio_button = QToolButton()
        self.audio_button.setIcon(icon("folder"))
        self.audio_button.setToolTip("Choose the second character's line (none: they listen)")
        self.audio_button.clicked.connect(self._browse_audio)
        row.addWidget(self.audio_button)
        form.addRow("Their line", row)
        self.audio_in = QDoubleSpinBox()
        self.audio_in.setDecimals(3)
        self.audio_in.setRange(0.0, 36000.0)
        self.audio_in.setSuffix(" s")
        self.audio_in.setKeyboardTracking(False)
        self.audio_in.valueChanged.connect(lambda v: self._set({"partner_audio_in": round(v, 3)}))
        form.addRow("Their in", self.audio_in)
        row = QHBoxLayout()
        self.image_label = QLabel("—")
        self.image_label.setObjectName("dim")
        row.addWidget(self.image_label, 1)
        self.image_button = QToolButton()
        self.image_button.setIcon(icon("folder"))
        self.image_button.setToolTip("The picture that shows both characters")
        self.image_button.clicked.connect(self._browse_image)
        row.addWidget(self.image_button)
        form.addRow("Picture", row)
        self.left = QCheckBox("Second character on the left")
        self.left.toggled.connect(lambda on: self._set({"partner_left": bool(on)}))
        form.addRow("", self.left)
        row = QHBoxLayout()
        self.faces_label = QLabel("")
        self.faces_label.setObjectName("dim")
        self.faces_label.setWordWrap(True)
        row.addWidget(self.faces_label, 1)
        self.find_button = QPushButton("Find Faces")
        self.find_button.setToolTip("Place one speaker box per face of the picture, left to right")
        self.find_button.clicked.connect(self.find_faces)
        row.addWidget(self.find_button)
        form.addRow("Speakers", row)

    # ------------------------------------------------------------ document
    @property
    def shot(self) -> Shot | None:
        return None if self._shot_id is None else self.document.project.shots.get(self._shot_id)

    def show_shot(self, shot: Shot | None) -> None:
        """Show ``shot``'s partner fields (the Inspector calls this on every refresh)."""
        self._shot_id = shot.id if shot is not None else None
        project = self.document.project
        self._updating = True
        try:
            self.partner.clear()
            self.partner.addItem("— nobody (one speaker) —", None)
            for c in project.characters:
                if shot is None or c.id != shot.character_id:
                    self.partner.addItem(c.name, c.id)
            active = shot is not None and shot.is_two_shot
            self.partner.setCurrentIndex(max(0, self.partner.findData(shot.partner_id)) if active else 0)
            for widget in (self.audio_button, self.audio_in, self.image_button, self.left, self.find_button):
                widget.setEnabled(active)
            if not active:
                self.audio_label.setText("—")
                self.image_label.setText("—")
                self.faces_label.setText("")
                return
            self.audio_label.setText(Path(shot.partner_audio).name if shot.partner_audio else "listens (no line)")
            self.audio_in.setMaximum(shot.partner_audio_length or 36000.0)
            self.audio_in.setValue(shot.partner_audio_in)
            self.image_label.setText(Path(shot.two_shot_image).name if shot.two_shot_image
                                     else "the first character's portrait")
            self.left.setChecked(shot.partner_left)
            self.faces_label.setText(self._describe_boxes(shot))
        finally:
            self._updating = False

    def _describe_boxes(self, shot: Shot) -> str:
        if not shot.speaker_boxes:
            return "faces are found when rendering"
        names = self._names_left_to_right(shot)
        return "  ·  ".join(f"{name}: x {b[0]:.2f}–{b[2]:.2f}" for name, b in zip(names, shot.speaker_boxes))

    def _names_left_to_right(self, shot: Shot) -> list[str]:
        project = self.document.project
        own = project.character(shot.character_id)
        other = project.character(shot.partner_id)
        names = [own.name if own else "?", other.name if other else "?"]
        return names[::-1] if shot.partner_left else names

    def _set(self, changes: dict[str, object], text: str = "Edit Two-Shot") -> None:
        shot = self.shot
        if self._updating or shot is None:
            return
        if all(getattr(shot, k) == v for k, v in changes.items()):
            return
        self.document.push(SetShotFields(shot.id, changes, text=text))

    # ------------------------------------------------------------- actions
    def _partner_chosen(self, _index: int) -> None:
        chosen = self.partner.currentData()
        if chosen is None:
            self._set(dict(PARTNER_FIELDS), text="Make Single Shot")
        else:
            self._set({"partner_id": chosen}, text="Make Two-Shot")

    def _browse_audio(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Second character's line", str(self.document.project.folder or ""),
                                              AUDIO_FILTER)
        if path:
            self.set_partner_audio(Path(path))

    def set_partner_audio(self, path: Path | None) -> None:
        """Use ``path`` as the partner's line (None: they listen)."""
        if path is None:
            self._set({"partner_audio": None, "partner_audio_in": 0.0, "partner_audio_out": None,
                       "partner_audio_length": None})
            return
        try:
            info = probe_audio(path)
        except MediaError as exc:
            self.error.emit("Cannot use this audio", str(exc))
            return
        self._set({"partner_audio": self.document.project.relative(path), "partner_audio_in": 0.0,
                   "partner_audio_out": None, "partner_audio_length": info.duration})

    def _browse_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Picture of both characters",
                                              str(self.document.project.folder or ""), IMAGE_FILTER)
        if path:
            self.set_picture(Path(path))

    def set_picture(self, path: Path) -> None:
        """Use ``path`` as the two-shot picture; its speaker boxes are found again."""
        self._set({"two_shot_image": self.document.project.relative(path), "speaker_boxes": None})
        self.find_faces()

    def find_faces(self) -> None:
        """Detect the two faces of the picture and store one box per speaker, left to right."""
        shot = self.shot
        if shot is None or not shot.is_two_shot:
            return
        from engine.backends.infinitetalk.speakers import place_speakers
        from engine.media import load_portrait

        project = self.document.project
        rel = shot.two_shot_image or getattr(project.character(shot.character_id), "portrait", None)
        picture = project.resolve(rel)
        if picture is None or not picture.exists():
            self.error.emit("No two-shot picture", "choose the picture that shows both characters")
            return
        try:
            placed = place_speakers(load_portrait(str(picture)), 2)
        except (MediaError, OSError, ValueError) as exc:
            self.error.emit("Cannot read the picture", str(exc))
            return
        self._set({"speaker_boxes": placed.boxes}, text="Find Faces")
        if placed.source != "detected":
            self.faces_label.setText(f"found {placed.faces} face(s): using the left and right halves; "
                                     + self._describe_boxes(shot))
