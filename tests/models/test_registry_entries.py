"""One bad entry in ``models.json`` never breaks the others, nor is it ever thrown away.

A registry edited by hand (or by an older Soul Studio) may hold an entry without a name,
with a number for a name or a path, or fields of the wrong type. The good entries stay
usable, every command runs without a traceback, the bad entry is named in a warning, and
it is written back as it was when the registry is saved again.
"""

from __future__ import annotations

import json

import pytest

from soul_studio.cli import main
from soul_studio.models.registry import ModelRegistry, RegistryError
from soul_studio.models.settings import StudioPaths

BAD_ENTRIES = [
    {"name": 5, "kind": "wan-ti2v-5b", "path": "/x"},
    {"kind": "wan-ti2v-5b", "path": "/x"},
    {"name": "nopath", "kind": "light-vae", "path": 5},
    {"name": ["a"], "kind": "light-vae", "path": "/x"},
    "just text",
    None,
]


def _write(config_dir, models) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "models.json").write_text(json.dumps({"version": 1, "models": models}))


@pytest.mark.parametrize("bad", BAD_ENTRIES)
@pytest.mark.parametrize("command", [["list"], ["check", "--fast"], ["vram"], ["--json", "list"]])
def test_a_bad_entry_is_skipped_with_a_warning_and_the_good_one_still_listed(config_dir, tmp_path, capsys,
                                                                              bad, command):
    _write(config_dir, [bad, {"name": "good", "kind": "light-vae", "path": str(tmp_path)}])
    before = (config_dir / "models.json").read_bytes()
    code = main(["models", *command])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "Traceback" not in err
    assert "models.json" in err and "entry 1" in err and "skipped" in err, err
    if command[-1] == "list":
        assert "good" in out
    assert (config_dir / "models.json").read_bytes() == before  # reading never rewrites it
    assert not (config_dir / "models.json.broken").exists()


def test_saving_again_keeps_the_entries_it_could_not_read(config_dir, tmp_path):
    _write(config_dir, [*BAD_ENTRIES, {"name": "good", "kind": "light-vae", "path": str(tmp_path)}])
    registry = ModelRegistry(StudioPaths.default())
    assert registry.names() == ["good"] and len(registry.problems) == len(BAD_ENTRIES)
    registry.add("other", "light-vae", tmp_path)
    registry.remove("good")
    kept = json.loads((config_dir / "models.json").read_text())["models"]
    assert all(bad in kept for bad in BAD_ENTRIES) and ModelRegistry(StudioPaths.default()).names() == ["other"]


def test_wrong_types_in_optional_fields_read_as_unknown(config_dir, tmp_path, capsys):
    _write(config_dir, [{"name": "good", "kind": "light-vae", "path": str(tmp_path), "size_bytes": "big",
                         "notes": 7, "fingerprint": 3, "added": None}])
    entry = ModelRegistry(StudioPaths.default()).get("good")
    assert (entry.size_bytes, entry.notes, entry.fingerprint, entry.added) == (0, {}, "", "")
    assert main(["models", "list"]) == 0 and "good" in capsys.readouterr().out


def test_a_registry_damaged_twice_keeps_both_copies_aside(config_dir):
    for text in ("{first", "{second"):
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "models.json").write_text(text)
        with pytest.raises(RegistryError, match="damaged"):
            ModelRegistry(StudioPaths.default())
    kept = sorted(p.read_text() for p in config_dir.glob("models.json.broken*"))
    assert kept == ["{first", "{second"]
