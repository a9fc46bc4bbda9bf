"""Fixtures for driving the studio like a user: a window on a saved project, real media."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engine.media import save_image
from engine.media.synthetic import draw_portrait
from soul_studio.project import Project, save_project


class ScriptedPrompts:
    """Answers the window's questions without modal dialogs; records errors."""

    def __init__(self) -> None:
        self.recover = True
        self.save_answer = "discard"
        self.relink_map: dict[Path, Path] = {}
        self.errors: list[tuple[str, str]] = []
        self.asked: list[str] = []

    def recover_autosave(self, path: Path) -> bool:
        self.asked.append("recover")
        return self.recover

    def save_changes(self, title: str) -> str:
        self.asked.append("save")
        return self.save_answer

    def relink(self, missing: list[Path]) -> dict[Path, Path]:
        self.asked.append("relink")
        return {m: self.relink_map[m] for m in missing if m in self.relink_map}

    def error(self, title: str, error: object) -> None:
        self.errors.append((title, str(error)))


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "ada.png"
    path.parent.mkdir(exist_ok=True)
    save_image(path, draw_portrait(3, (256, 256)))
    return path


@pytest.fixture
def line_audio(make_audio, tmp_path: Path) -> Path:
    return make_audio("line1.wav", duration=2.0, bursts=[(0.2, 0.8), (1.1, 1.8)])


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    folder = tmp_path / "scene"
    folder.mkdir()
    project = Project(name="Test Scene", fps=24.0, width=640, height=360)
    return save_project(project, folder / "scene.soulproj")


@pytest.fixture
def studio(qtbot, tmp_path: Path, project_path: Path):
    """The main window on a saved, empty project; the engine is not started."""
    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.settings import StudioSettings

    settings = StudioSettings(tmp_path / "settings" / "studio.ini")
    settings.cache_folder = tmp_path / "cache"
    settings.recovery_folder = tmp_path / "user-data" / "recovered"
    settings.auto_draft = False
    window = MainWindow(settings)
    window.prompts = ScriptedPrompts()
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    assert window.open_project(project_path, confirm=False)
    qtbot.waitExposed(window)
    yield window
    window.document.undo_stack.setClean()
    window.document._untracked = False
    window.close()


def drop_files(view, paths: list[Path], pos: QPoint) -> QDropEvent:
    """Deliver a file drop (as from a file manager) at viewport position ``pos``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    return event
