"""The annotation pipeline on generated footage: shots, faces, framing, filters, clips, resume."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np

from engine.media import probe_video, read_frames
from soul_studio.annotate import command
from soul_studio.annotate.pipeline import annotate_folder, read_manifest, source_key


def by_source(out):
    records: dict[str, list[dict]] = {}
    for r in read_manifest(out):
        records.setdefault(r["source"], []).append(r)
    return records


def test_every_source_is_annotated_in_parallel(dataset):
    s = dataset["summary"]
    assert s.sources == 4 and s.skipped == 0 and not s.failed
    records = by_source(dataset["out"])
    assert set(records) == {"one_face.mp4", "two_faces.mp4", "day1/cut.mp4", "blurred.mp4"}
    assert s.clips == sum(len(v) for v in records.values()) == 5


def test_one_face_is_a_kept_portrait_clip_that_decodes(dataset):
    (r,) = by_source(dataset["out"])["one_face.mp4"]
    assert r["framing"] == "portrait" and r["face_count"] == 1
    assert r["kept"] and r["reason"] is None and r["active_speaker"] == r["faces"][0]["track"]
    assert abs(r["sync"]["offset_frames"]) <= 1 and r["sync"]["confidence"] > 0.4
    assert (r["start_frame"], r["end_frame"], r["start_s"], r["end_s"]) == (0, 90, 0.0, 3.6)
    clip = dataset["out"] / r["clip"]
    info = probe_video(clip)
    assert info.frame_count == 90 and (info.width, info.height) == (192, 192) and info.audio_codec == "aac"
    x, y, w, h = r["faces"][0]["box"]
    assert 0.2 < x < 0.4 and 0.3 < w < 0.5  # the painted face sits in the middle third


def test_two_faces_side_by_side_are_multi_person(dataset):
    (r,) = by_source(dataset["out"])["two_faces.mp4"]
    assert r["framing"] == "multi_person" and r["face_count"] == 2
    centres = sorted(f["box"][0] + f["box"][2] / 2 for f in r["faces"])
    assert centres[0] < 0.5 < centres[1]
    assert all("sync_confidence" in f for f in r["faces"])


def test_hard_cut_is_found_at_the_right_frame(dataset, footage):
    shots = sorted(by_source(dataset["out"])["day1/cut.mp4"], key=lambda r: r["shot"])
    assert len(shots) == 2
    assert abs(shots[0]["end_frame"] - footage["cut"]) <= 1 and shots[1]["start_frame"] == shots[0]["end_frame"]
    assert shots[1]["end_frame"] == 180
    assert all(r["kept"] for r in shots)
    # The second clip starts on the second portrait: its first frame matches the source after the cut.
    clip = read_frames(dataset["out"] / shots[1]["clip"], 0, 1)[0].astype(np.int16)
    source = read_frames(footage["folder"] / "day1" / "cut.mp4", shots[1]["start_frame"], 1)[0].astype(np.int16)
    assert np.abs(clip - source).mean() < 4.0


def test_blurred_shot_is_rejected_and_leaves_no_clip(dataset):
    (r,) = by_source(dataset["out"])["blurred.mp4"]
    assert not r["kept"] and r["clip"] is None and r["reason"].startswith("blurry")
    assert not list((dataset["out"] / "clips").glob(source_key("blurred.mp4") + "*"))
    kept = {p.name for p in (dataset["out"] / "clips").iterdir()}
    assert len(kept) == 4 and not any(".partial" in n for n in kept)


def test_resume_skips_done_sources_and_cleans_a_crashed_one(dataset, footage, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(dataset["out"], out)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    again = annotate_folder(footage["folder"], out, workers=1)
    assert again.skipped == 4 and again.clips == 0
    assert (out / "manifest.jsonl").read_text().splitlines() == lines

    # A new source, with what a crash mid-file would have left: a temp file and a finished clip.
    shutil.copy(footage["spare"], footage["folder"] / "late.mp4")
    try:
        stale = out / "clips" / f"{source_key('late.mp4')}_007.mp4"
        stale.write_bytes(b"half a clip")
        (out / "clips" / f".{source_key('late.mp4')}_000.abc123.partial.mp4").write_bytes(b"x")
        with open(out / "manifest.jsonl", "a") as handle:
            handle.write('{"source": "torn')  # the crash hit while appending
        third = annotate_folder(footage["folder"], out, workers=1)
    finally:
        (footage["folder"] / "late.mp4").unlink()
    assert third.skipped == 4 and third.clips == 1 and third.kept == 1
    assert not stale.exists() and not list((out / "clips").glob(".*partial*"))
    records = read_manifest(out)
    assert [r["source"] for r in records].count("late.mp4") == 1 and len(records) == 6
    # The torn line was closed off and stays unreadable; every whole line parses.
    raw = (out / "manifest.jsonl").read_text().splitlines()
    assert len(raw) == 7 and sum(1 for line in raw if line.startswith('{"source": "torn')) == 1
    assert json.loads(raw[-1])["source"] == "late.mp4"


def test_command_exit_codes(footage, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())

    def run(argv):
        args = parser.parse_args(argv)
        return args.func(args)

    assert run(["annotate", str(tmp_path / "missing"), "--out", str(tmp_path / "ds")]) == 2
    assert run(["annotate", str(footage["folder"]), "--out", str(tmp_path / "ds"),
                "--captioner", str(tmp_path / "no_model")]) == 2
    assert "config.json missing" in capsys.readouterr().err
    single = tmp_path / "single"
    single.mkdir()
    shutil.copy(footage["folder"] / "blurred.mp4", single / "blurred.mp4")
    assert run(["annotate", str(single), "--out", str(tmp_path / "ds"), "--workers", "1"]) == 0
    assert "0 of 1 shot(s) kept" in capsys.readouterr().out
