"""The report files, the ``bench`` command and its errors for weights that cannot be used."""

from __future__ import annotations

import argparse
import json
import pickle

import cv2
import numpy as np
import pytest

from soul_studio.bench import command
from soul_studio.bench.errors import BenchError
from soul_studio.bench.syncnet import load_syncnet


def run_cli(argv):
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_bench_writes_json_png_and_html(takes, tmp_path, capsys):
    out = tmp_path / "report"
    assert run_cli(["bench", str(takes["folder"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sync offset" in printed and "2 take(s) evaluated" in printed
    data = json.loads((out / "results.json").read_text())
    names = {t["name"]: t for t in data["takes"]}
    assert set(names) == {"shot01", "shot01_late_audio"}
    assert abs(names["shot01_late_audio"]["sync"]["offset_frames"] + 10) <= 1
    overview = cv2.imread(str(out / "report.png"))
    assert overview is not None and overview.shape[1] > 1200 and overview.shape[0] > 500
    assert overview.std() > 20  # plots and pictures, not an empty canvas
    for name in names:
        img = cv2.imread(str(out / f"{name}.png"))
        assert img is not None and img.shape[1] > 1200
    page = (out / "index.html").read_text()
    assert "report.png" in page and "shot01_late_audio.png" in page and "sync offset" in page
    assert "not computed" in page


def test_bench_usage_errors(tmp_path, capsys):
    assert run_cli(["bench", str(tmp_path / "nowhere")]) == 2
    (tmp_path / "empty").mkdir()
    assert run_cli(["bench", str(tmp_path / "empty")]) == 2


def test_missing_syncnet_weights_is_a_clear_message(takes, tmp_path, capsys):
    code = run_cli(["bench", str(takes["folder"]), "--out", str(tmp_path / "r"), "--syncnet", str(tmp_path / "none.model")])
    assert code == 2
    err = capsys.readouterr().err
    assert "SyncNet weights not found" in err and "--syncnet" in err
    assert not (tmp_path / "r").exists()


def test_syncnet_loader_refuses_wrong_and_unsafe_files(tmp_path):
    from safetensors.numpy import save_file

    wrong = tmp_path / "other.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(wrong))
    with pytest.raises(BenchError, match="not SyncNet v2 weights"):
        load_syncnet(wrong)
    unsafe = tmp_path / "syncnet_v2.model"
    unsafe.write_bytes(pickle.dumps({"netcnnaud.0.weight": argparse.Namespace(x=1)}, protocol=2))
    with pytest.raises(BenchError, match="refusing to unpickle"):
        load_syncnet(unsafe)


def test_tools_import_no_qt():
    import subprocess
    import sys

    code = ("import sys, soul_studio.bench.command, soul_studio.bench.report, soul_studio.bench.evaluate, "
            "soul_studio.annotate.command, soul_studio.annotate.pipeline; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'shiboken6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
