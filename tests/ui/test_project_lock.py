"""The studio is one writer: it holds the project's lock, and a project a render writes is refused."""

from __future__ import annotations

from soul_studio.cli import main
from soul_studio.project import Project, save_project
from soul_studio.project.lock import ProjectLock, lock_path


def test_studio_holds_the_lock_and_refuses_a_project_another_writer_holds(studio, project_path, tmp_path, capsys):
    assert lock_path(project_path).exists()
    # A headless render of the open project is refused with who holds it.
    assert main(["render", str(project_path), "--quality", "draft", "--quiet"]) == 2
    assert "open for writing in Soul Studio" in capsys.readouterr().err
    other = save_project(Project(name="Other"), tmp_path / "other.soulproj")
    with ProjectLock(other, "soul-studio render"):
        assert not studio.open_project(other, confirm=False)
        title, message = studio.prompts.errors[-1]
        assert title == "Cannot open the project" and "soul-studio render" in message
    assert studio.document.project.path == project_path.resolve()
    # Once the render is done it opens, and the first project's lock is let go.
    assert studio.open_project(other, confirm=False)
    assert lock_path(other).exists() and not lock_path(project_path).exists()
