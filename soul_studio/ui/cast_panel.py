"""The Cast panel: characters with portrait, colour, framing, prompt, voice and mouth box."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from soul_studio.project.edits import AddCharacter, RemoveCharacter, SetCharacterFields
from soul_studio.project.model import FRAMINGS, Character, Voice
from soul_studio.ui.document import Document
from soul_studio.ui.document_panel import DocumentPanel, header_row, tool_button
from soul_studio.ui.drops import portrait_edit
from soul_studio.ui.face_picker import FacePicker
from soul_studio.ui.inspector import FRAMING_LABELS
from soul_studio.ui.media_cache import MediaCache, is_image
from soul_studio.ui.theme import icon

AVATAR = 44


def avatar_icon(image: QImage | None, colour: str) -> QIcon:
    """A square portrait thumbnail with the character's colour bar underneath."""
    pix = QPixmap(AVATAR, AVATAR)
    pix.fill(QColor("#2a2b2f"))
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    if image is not None and not image.isNull():
        side = min(image.width(), image.height())
        src = image.copy((image.width() - side) // 2, max(0, (image.height() - side) // 4), side, side)
        p.drawImage(pix.rect(), src)
    else:
        p.drawPixmap(8, 6, icon("person").pixmap(28, 28))
    p.fillRect(0, AVATAR - 4, AVATAR, 4, QColor(colour))
    p.end()
    return QIcon(pix)


class CastList(QListWidget):
    """Characters; dropping an image on one gives them that portrait."""

    portrait_dropped = Signal(str, str)  # character id, path

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self.setIconSize(QSize(AVATAR, AVATAR))
        self.setSpacing(2)

    def _image(self, event: QDragEnterEvent | QDropEvent) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile() and is_image(u.toLocalFile())]
        return paths[0] if paths else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._image(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._image(event)
        item = self.itemAt(event.position().toPoint()) or self.currentItem()
        if path and item is not None:
            self.portrait_dropped.emit(item.data(Qt.ItemDataRole.UserRole), path)
            event.acceptProposedAction()
        else:
            event.ignore()


class CastPanel(QWidget, DocumentPanel):
    """List of characters above the selected character's details."""

    REFRESH_ON = ("cast", "character", "project")

    error = Signal(str, str)

    def __init__(self, document: Document, cache: MediaCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.cache = cache
        self._updating = False

        self.list = CastList()
        self.list.currentItemChanged.connect(lambda *_: self._show_details())
        self.list.portrait_dropped.connect(self._portrait_dropped)
        top, self.count = header_row(
            tool_button("add", "Add a character", self.add_character),
            tool_button("remove", "Remove the character (their shots keep their lines)", self.remove_character))
        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.setSpacing(0)
        ul.addLayout(top)
        ul.addWidget(self.list)

        details = QWidget()
        form = QFormLayout(details)
        form.setContentsMargins(10, 8, 10, 10)
        form.setVerticalSpacing(7)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.name = QLineEdit()
        self.name.editingFinished.connect(lambda: self._set({"name": self.name.text().strip() or "Character"}))
        form.addRow("Name", self.name)
        row = QHBoxLayout()
        self.portrait_label = QLabel("—")
        self.portrait_label.setObjectName("dim")
        row.addWidget(self.portrait_label, 1)
        row.addWidget(tool_button("image", "Choose a portrait", self._choose_portrait))
        form.addRow("Portrait", row)
        self.face_picker = FacePicker()
        self.face_picker.setToolTip("Click the face that speaks")
        self.face_picker.face_chosen.connect(lambda i: self._set({"face_index": int(i)}))
        self.face_picker.analysed.connect(lambda _p: self._show_face_caption())
        form.addRow("Face", self.face_picker)
        face_row = QHBoxLayout()
        self.face_caption = QLabel("")
        self.face_caption.setObjectName("dim")
        self.face_caption.setWordWrap(True)
        face_row.addWidget(self.face_caption, 1)
        self.face_auto = QToolButton()
        self.face_auto.setText("Auto")
        self.face_auto.setToolTip("Let the engine pick the face it is surest of")
        self.face_auto.clicked.connect(lambda: self._set({"face_index": None}))
        face_row.addWidget(self.face_auto)
        form.addRow("", face_row)
        self.colour = QPushButton()
        self.colour.setFixedHeight(22)
        self.colour.clicked.connect(self._choose_colour)
        form.addRow("Colour", self.colour)
        self.framing = QComboBox()
        for f in FRAMINGS:
            self.framing.addItem(FRAMING_LABELS[f], f)
        self.framing.activated.connect(lambda _i: self._set({"framing": self.framing.currentData()}))
        form.addRow("Framing", self.framing)
        self.prompt = QPlainTextEdit()
        self.prompt.setFixedHeight(60)
        self.prompt.setPlaceholderText("Look, wardrobe, lighting…")
        self.prompt.textChanged.connect(lambda: self._set({"prompt": self.prompt.toPlainText()}))
        form.addRow("Prompt", self.prompt)
        voice_row = QHBoxLayout()
        self.voice = QLineEdit()
        self.voice.setPlaceholderText("espeak-ng voice")
        self.voice.editingFinished.connect(self._voice_changed)
        self.pitch = QSpinBox()
        self.pitch.setRange(0, 99)
        self.pitch.setPrefix("pitch ")
        self.pitch.valueChanged.connect(lambda _v: self._voice_changed())
        self.rate = QSpinBox()
        self.rate.setRange(80, 400)
        self.rate.setSuffix(" wpm")
        self.rate.valueChanged.connect(lambda _v: self._voice_changed())
        voice_row.addWidget(self.voice, 2)
        voice_row.addWidget(self.pitch, 1)
        voice_row.addWidget(self.rate, 1)
        form.addRow("Temp voice", voice_row)
        self.mouth_auto = QCheckBox("Find the mouth automatically")
        self.mouth_auto.toggled.connect(self._mouth_changed)
        form.addRow("Mouth", self.mouth_auto)
        box_row = QHBoxLayout()
        self.mouth: list[QDoubleSpinBox] = []
        for label in ("x", "y", "w", "h"):
            s = QDoubleSpinBox()
            s.setRange(0.0, 1.0)
            s.setDecimals(3)
            s.setSingleStep(0.01)
            s.setPrefix(f"{label} ")
            s.setKeyboardTracking(False)
            s.valueChanged.connect(lambda _v: self._mouth_changed())
            self.mouth.append(s)
            box_row.addWidget(s)
        form.addRow("Box", box_row)
        self.details = details
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(details)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(scroll)
        split.setSizes([200, 260])
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        self.watch_document(document)
        cache.ready.connect(lambda kind, _k: kind == "thumb" and self.refresh())
        self.refresh()

    # ------------------------------------------------------------- listing
    @property
    def character(self) -> Character | None:
        item = self.list.currentItem()
        return None if item is None else self.document.project.character(item.data(Qt.ItemDataRole.UserRole))

    def refresh(self) -> None:
        project = self.document.project
        current = self.character.id if self.character else None
        self.list.blockSignals(True)
        self.list.clear()
        for c in project.characters:
            path = project.resolve(c.portrait)
            image = self.cache.thumbnail(path, 96) if path is not None and path.exists() else None
            shots = sum(1 for s in project.shots.values() if s.character_id == c.id)
            item = QListWidgetItem(avatar_icon(image, c.colour), f"{c.name}\n{shots} shot{'s' if shots != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setSizeHint(QSize(0, AVATAR + 8))
            self.list.addItem(item)
            if c.id == current:
                self.list.setCurrentItem(item)
        n = len(project.characters)
        self.count.setText(f"{n} character{'s' if n != 1 else ''}")
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self._show_details()

    def show_character(self, character_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == character_id:
                self.list.setCurrentRow(i)
                return

    def _show_details(self) -> None:
        c = self.character
        self.details.setEnabled(c is not None)
        if c is None:
            return
        self._updating = True
        try:
            if not self.name.hasFocus():
                self.name.setText(c.name)
            self.portrait_label.setText(Path(c.portrait).name if c.portrait else "none — drop an image here")
            self.face_picker.set_portrait(self.document.project.resolve(c.portrait), c.face_index)
            self._show_face_caption()
            self.colour.setStyleSheet(f"background-color: {c.colour}; border: 1px solid #111;")
            self.framing.setCurrentIndex(max(0, self.framing.findData(c.framing)))
            if self.prompt.toPlainText() != c.prompt:
                self.prompt.setPlainText(c.prompt)
            if not self.voice.hasFocus():
                self.voice.setText(c.voice.voice)
            self.pitch.setValue(c.voice.pitch)
            self.rate.setValue(c.voice.rate)
            self.mouth_auto.setChecked(c.mouth_box is None)
            for spin, value in zip(self.mouth, c.mouth_box or (0.35, 0.6, 0.3, 0.15)):
                spin.setValue(value)
                spin.setEnabled(c.mouth_box is not None)
        finally:
            self._updating = False

    def _show_face_caption(self) -> None:
        c = self.character
        n = len(self.face_picker.faces)
        speaking = self.face_picker.speaking
        if c is None or not c.portrait:
            text = ""
        elif n == 0:
            text = "no face found yet; place the mouth box below if the picture has none"
        elif n == 1:
            text = "one face"
        else:
            how = "chosen" if c.face_index is not None else "automatic"
            text = f"face {(speaking or 0) + 1} of {n} speaks ({how}); click another face to choose"
        self.face_caption.setText(text)
        self.face_auto.setEnabled(c is not None and c.face_index is not None)

    # --------------------------------------------------------------- edits
    def _set(self, changes: dict[str, object]) -> None:
        c = self.character
        if self._updating or c is None or all(getattr(c, k) == v for k, v in changes.items()):
            return
        self.document.push(SetCharacterFields(c.id, changes))

    def _voice_changed(self) -> None:
        c = self.character
        if c is None or self._updating:
            return
        voice = Voice(c.voice.engine, self.voice.text().strip() or "en", self.pitch.value(), self.rate.value())
        self._set({"voice": voice})

    def _mouth_changed(self) -> None:
        if self._updating:
            return
        if self.mouth_auto.isChecked():
            self._set({"mouth_box": None})
        else:
            self._set({"mouth_box": tuple(round(s.value(), 3) for s in self.mouth)})

    def _choose_colour(self) -> None:
        c = self.character
        if c is None:
            return
        chosen = QColorDialog.getColor(QColor(c.colour), self, "Character colour")
        if chosen.isValid():
            self._set({"colour": chosen.name()})

    def _choose_portrait(self) -> None:
        c = self.character
        if c is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Portrait", str(self.document.project.folder or ""),
                                              "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)")
        if path:
            self._portrait_dropped(c.id, path)

    def _portrait_dropped(self, character_id: str, path: str) -> None:
        self.document.push(portrait_edit(self.document.project, character_id, Path(path)))

    def add_character(self) -> None:
        project = self.document.project
        n = len(project.characters) + 1
        name = f"Character {n}"
        while project.character_by_name(name) is not None:
            n += 1
            name = f"Character {n}"
        c = Character(name, colour=project.next_character_colour())
        self.document.push(AddCharacter(c))
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == c.id:
                self.list.setCurrentRow(i)

    def remove_character(self) -> None:
        c = self.character
        if c is not None:
            self.document.push(RemoveCharacter(c.id))
