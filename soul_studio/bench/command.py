"""``soul-studio bench``: score a folder of takes and write a JSON + PNG + HTML report.

Exit codes: 0 every take was evaluated, 1 some takes could not be read, 2 bad usage
(no such folder, no takes in it, weights that cannot be loaded).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soul_studio.bench.errors import BenchError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="evaluate rendered takes: lip-sync, identity, stability, quality",
        description="Score every take in RENDERS_DIR against its portrait, audio and text, and write "
                    "results.json, report.png and index.html. Learnt models are optional; without them "
                    "the weight-free measures run and the rest say 'not computed'.")
    p.add_argument("renders", type=Path, metavar="RENDERS_DIR", help="folder of takes (movies with JSON sidecars)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: RENDERS_DIR/bench)")
    p.add_argument("--syncnet", type=Path, metavar="WEIGHTS", help="SyncNet v2 weights (.safetensors or syncnet_v2.model)")
    p.add_argument("--arcface", type=Path, metavar="MODEL", help="ArcFace face embedder (IResNet .safetensors/.pth, or .onnx)")
    p.add_argument("--clip", type=Path, metavar="FOLDER", help="CLIP model folder (safetensors) for text alignment")
    p.add_argument("--inception", type=Path, metavar="MODEL", help="image feature model (.onnx) for FID")
    p.add_argument("--i3d", type=Path, metavar="FOLDER",
                   help="video feature network folder (config.json + model.safetensors) for FVD")
    p.add_argument("--reference", type=Path, metavar="DIR", help="reference pictures or movies for FID and FVD")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from soul_studio.bench.evaluate import evaluate_folder, find_takes, write_results
    from soul_studio.bench.models import Models
    from soul_studio.bench.report import write_report

    renders: Path = args.renders
    if not renders.is_dir():
        print(f"soul-studio bench: {renders} is not a folder", file=sys.stderr)
        return 2
    if not find_takes(renders):
        print(f"soul-studio bench: no takes (.mp4/.mov) in {renders}", file=sys.stderr)
        return 2
    try:
        models = Models.load(syncnet=args.syncnet, arcface=args.arcface, clip=args.clip,
                             inception=args.inception, reference=args.reference, i3d=args.i3d)
    except BenchError as exc:
        print(f"soul-studio bench: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return 2

    def on_take(path: Path, scores: object, error: str | None) -> None:
        if args.quiet:
            return
        if error:
            print(f"  {path.name}: not evaluated: {error}", file=sys.stderr)
            return
        sync = getattr(scores, "sync", {})
        if "offset_frames" in sync:
            print(f"  {path.name}: sync offset {sync['offset_frames']:+d} fr, confidence {sync['confidence']:.2f}")
        else:
            print(f"  {path.name}: {sync.get('note', 'evaluated')}")

    out = args.out or renders / "bench"
    try:
        scores, errors = evaluate_folder(renders, models, on_take)
    except BenchError as exc:
        print(f"soul-studio bench: {exc}", file=sys.stderr)
        return 2
    write_results(scores, out, errors)
    paths = write_report(scores, out, errors)
    print(f"soul-studio bench: {len(scores)} take(s) evaluated, {len(errors)} failed; report: {paths['html']}")
    return 1 if errors else 0
