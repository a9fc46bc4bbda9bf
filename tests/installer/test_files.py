"""The installer's files: the PyInstaller spec, the desktop entry, the icon, the bundle entry point."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INSTALLER = Path(__file__).resolve().parents[2] / "installer"


def load_bundle_main():
    spec = importlib.util.spec_from_file_location("bundle_main", INSTALLER / "bundle_main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_is_python_and_names_what_the_bundle_needs():
    source = (INSTALLER / "soul_studio.spec").read_text()
    tree = ast.parse(source)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= calls
    heavy = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "HEAVY")
    excluded = {elt.value for elt in heavy.elts}
    assert {"torch", "diffusers", "transformers", "ray"} <= excluded
    assert not excluded & {"PySide6", "av", "cv2", "numpy", "qasync"}  # the studio and the sketch engine stay
    for name in ("bundle_main.py", "soul-studio.svg", "soul-studio.png"):
        assert f'"{name}"' in source and (INSTALLER / name).is_file()
    assert '"resources"' in source
    assert 'collect_data_files("cv2"' in source and "haarcascade" in source  # the sketch engine's face finder


def test_spec_bundles_the_lip_sync_model():
    source = (INSTALLER / "soul_studio.spec").read_text()
    assert 'collect_data_files("pocketsphinx"' in source  # the en-us acoustic model, dictionary, phone LM
    # Only the word language model is left out, and the lip sync never loads it.
    assert '"model/en-us/en-us.lm.bin"' in source
    phonemes = (INSTALLER.parent / "engine" / "backends" / "sketch" / "phonemes.py").read_text()
    assert phonemes.count("lm=None") >= 2


def test_desktop_entry_is_valid():
    path = INSTALLER / "soul-studio.desktop"
    tool = shutil.which("desktop-file-validate")
    if tool:
        result = subprocess.run([tool, str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "Soul Studio"
    assert entry["Exec"].split()[0] == "soul-studio" and entry["Exec"].split()[-1] == "%f"
    assert entry["Icon"] == "soul-studio" and entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "AudioVideo" in entry["Categories"].split(";")
    mime = (INSTALLER / "soul-studio-mime.xml").read_text()
    assert entry["MimeType"].rstrip(";") in mime and "*.soulproj" in mime


def test_icon_renders_and_matches_the_png(qapp):
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(INSTALLER / "soul-studio.svg"))
    assert renderer.isValid() and renderer.defaultSize().width() == 256
    png = QImage(str(INSTALLER / "soul-studio.png"))
    assert (png.width(), png.height()) == (256, 256)
    assert png.pixelColor(128, 128).alpha() == 255 and png.pixelColor(1, 1).alpha() == 0  # rounded corners
    colours = {png.pixelColor(x, y).name() for x in range(0, 256, 8) for y in range(0, 256, 8)}
    assert len(colours) > 8


def test_scripts_are_executable_bash():
    for name in ("build_bundle.sh", "smoke_bundle.sh", "install-desktop.sh"):
        path = INSTALLER / name
        assert path.stat().st_mode & 0o111, name
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0, name


def test_bundle_entry_routes_engine_and_cli(capsys):
    bundle_main = load_bundle_main()
    with pytest.raises(SystemExit) as exc:
        bundle_main.main(["-m", "engine", "--help"])
    assert exc.value.code == 0 and "Soul Studio engine" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bundle_main.main(["--version"])
    assert "soul-studio" in capsys.readouterr().out


@pytest.mark.gui
def test_smoke_mode_opens_the_demo_window(tmp_path):
    """The bundle's --smoke-test, run from source in its own process (it owns a QApplication)."""
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
           "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, str(INSTALLER / "bundle_main.py"), "--smoke-test"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("OK")]
    assert line and "shots=4" in line[0] and "Soul Studio" in line[0]
