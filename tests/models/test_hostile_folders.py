"""``models`` commands on folders of the wrong shape: reports, never crashes; truncation is caught."""

from __future__ import annotations

import json
import shutil
import struct

import pytest

from soul_studio.cli import main
from soul_studio.models.check import check_folder


def _weights(folder):
    return next(folder.glob("*.safetensors"))


def test_half_truncated_safetensors_fails_the_check(adapter_folder, capsys):
    assert check_folder(adapter_folder, "soul-adapter").ok
    weights = _weights(adapter_folder)
    data = weights.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    weights.write_bytes(data[: 8 + length + (len(data) - 8 - length) // 2])  # the header survives, half the tensors
    check = check_folder(adapter_folder, "soul-adapter", check_shapes=False)
    assert not check.ok and any("truncated" in e for e in check.errors), check.errors
    assert main(["models", "add", "adapter", str(adapter_folder), "--kind", "soul-adapter"]) == 1
    assert "truncated" in capsys.readouterr().err


@pytest.mark.parametrize("header", [b"[1, 2, 3]", b'{"w": [1]}', b'{"w": {"dtype": "F32", "shape": "big"}}',
                                    b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}',
                                    b"\xff\xfe not json"])
def test_safetensors_headers_of_the_wrong_shape_are_reported(adapter_folder, header):
    weights = _weights(adapter_folder)
    weights.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    check = check_folder(adapter_folder, "soul-adapter")
    assert not check.ok and any(weights.name in e for e in check.errors), check.errors


@pytest.mark.parametrize("config", ["[]", '"text"', '{"model_dim": "wide"}', "{"])
def test_configs_of_the_wrong_shape_are_reported(adapter_folder, config):
    (adapter_folder / "config.json").write_text(config)
    check = check_folder(adapter_folder, "soul-adapter")
    assert not check.ok and check.errors


def test_one_bad_entry_never_breaks_the_list_of_the_others(adapter_folder, light_vae_folder, tmp_path, config_dir,
                                                           capsys):
    bad = tmp_path / "bad"
    shutil.copytree(adapter_folder, bad)
    assert main(["models", "add", "good", str(adapter_folder), "--kind", "soul-adapter"]) == 0
    assert main(["models", "add", "vae", str(light_vae_folder), "--kind", "light-vae"]) == 0
    assert main(["models", "add", "bad", str(bad), "--kind", "soul-adapter"]) == 0
    (bad / "config.json").write_text("[]")
    _weights(bad).write_bytes(struct.pack("<Q", 9) + b"[1, 2, 3]")
    registry = config_dir / "models.json"
    data = json.loads(registry.read_text())
    data["models"].append({**data["models"][0], "name": "odd", "kind": "no-such-kind", "path": str(tmp_path / "gone")})
    registry.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert " ok " in rows["good"] and " ok " in rows["vae"] and "problems" in rows["bad"] and "problems" in rows["odd"]
    assert main(["models", "check"]) == 1
    out = capsys.readouterr().out
    assert "good [soul-adapter] ok" in out and "bad [soul-adapter]" in out and "Traceback" not in out
