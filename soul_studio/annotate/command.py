"""``soul-studio annotate``: cut footage into a talking-head dataset with a JSONL manifest.

Exit codes: 0 every source was annotated (or was already), 1 some sources failed,
2 bad usage (no such folder, no movies, a captioner that cannot be used).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from soul_studio.bench.errors import BenchError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "annotate", help="cut footage into a dataset: shots, faces, framing, sync, quality",
        description="Detect shots, track faces, classify framing, measure audio-visual sync and picture "
                    "quality in every movie under FOOTAGE_DIR; kept clips go to DATASET_DIR/clips and every "
                    "shot gets a line in DATASET_DIR/manifest.jsonl. Re-running skips sources already done.")
    p.add_argument("footage", type=Path, metavar="FOOTAGE_DIR", help="folder of source movies (searched recursively)")
    p.add_argument("--out", type=Path, required=True, metavar="DATASET_DIR", help="dataset folder")
    p.add_argument("--workers", type=int, default=max(1, min(4, (os.cpu_count() or 2) - 1)),
                   help="files processed in parallel (default: CPU cores - 1, at most 4)")
    p.add_argument("--captioner", type=Path, metavar="FOLDER", help="image captioning model folder (safetensors)")
    p.add_argument("--min-seconds", type=float, default=1.0, help="shortest clip kept (default 1.0)")
    p.add_argument("--min-height", type=int, default=128, help="lowest frame height kept (default 128)")
    p.add_argument("--min-sharpness", type=float, default=12.0, help="blur threshold (variance of Laplacian)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from soul_studio.annotate.captions import check_captioner
    from soul_studio.annotate.pipeline import AnnotateConfig, annotate_folder, find_sources

    if not args.footage.is_dir():
        print(f"soul-studio annotate: {args.footage} is not a folder", file=sys.stderr)
        return 2
    if not find_sources(args.footage):
        print(f"soul-studio annotate: no movies in {args.footage}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("soul-studio annotate: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.captioner:
        try:
            check_captioner(args.captioner)
        except BenchError as exc:
            print(f"soul-studio annotate: {exc.message}\n  hint: {exc.hint}", file=sys.stderr)
            return 2
    config = AnnotateConfig(min_seconds=args.min_seconds, min_height=args.min_height, min_sharpness=args.min_sharpness)

    def on_source(rel: str, records: list[dict[str, Any]] | None, error: str | None) -> None:
        if args.quiet:
            return
        if records is None:
            print(f"  {rel}: failed: {error}", file=sys.stderr)
            return
        kept = sum(1 for r in records if r.get("kept"))
        print(f"  {rel}: {len(records)} shot(s), {kept} kept")

    summary = annotate_folder(args.footage, args.out, args.workers, config,
                              str(args.captioner) if args.captioner else None, on_source)
    print(f"soul-studio annotate: {summary.sources} source(s), {summary.skipped} already done, "
          f"{len(summary.failed)} failed; {summary.kept} of {summary.clips} shot(s) kept in {args.out}")
    return 1 if summary.failed else 0
