"""``python -m engine``: the engine process the studio starts, and a one-shot renderer.

``serve`` speaks :mod:`engine.protocol` on stdio until told to stop. ``render JOB.json``
renders one JobSpec to its take and sidecar without a queue (progress on stderr).
"""

from __future__ import annotations

import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Soul Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the engine process, JSON lines on stdio")
    serve.add_argument("--journal", metavar="DIR", help="folder for the crash-safe queue journal")
    serve.add_argument("--backends", metavar="NAMES", help="comma-separated backends to enable (default: all)")
    serve.add_argument("--min-free-ram-mb", type=float, default=512.0, help="unload warm models below this free RAM")
    serve.add_argument("--min-free-vram-mb", type=float, default=0.0, help="unload warm models below this free VRAM")
    serve.add_argument("--probe-wait", type=float, default=3.0, metavar="S",
                       help="how long hello waits for backend probes (slower ones follow in an event)")
    render = sub.add_parser("render", help="render one JobSpec JSON file to its take")
    render.add_argument("job", help="path of a JobSpec JSON file")
    return parser


def _render(path: str) -> int:
    from pathlib import Path

    from engine.backends import BackendError, backend_class
    from engine.backends.base import Progress, RenderContext
    from engine.jobs import JobSpec, JobSpecError
    from engine.media import MediaError
    from engine.takes import write_take

    def show(report: Progress, eta: float | None) -> None:
        tail = f", {eta:.0f} s left" if eta is not None else ""
        print(f"\r{report.fraction * 100:5.1f}%{tail}   ", end="", file=sys.stderr, flush=True)

    try:
        job = JobSpec.from_json(Path(path).read_text(encoding="utf-8")).validate()
        backend = backend_class(job.backend)()
        backend.load(dict(job.options))
        result = write_take(backend, job, RenderContext(on_progress=show))
    except (OSError, ValueError, JobSpecError, BackendError, MediaError) as exc:
        hint = getattr(exc, "hint", "")
        print(f"\nrender failed: {exc}" + (f" ({hint})" if hint else ""), file=sys.stderr)
        return 1
    print(file=sys.stderr)
    print(result.take_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        # Claim stdout before anything heavy is imported: only protocol lines may reach it.
        from engine.protocol import claim_stdout

        out = claim_stdout()
        from engine.server import run_server

        backends = [b.strip() for b in args.backends.split(",") if b.strip()] if args.backends else None
        code = run_server(args.journal, backends, args.min_free_ram_mb, args.min_free_vram_mb, args.probe_wait, out=out)
        # The reader thread may still block on stdin; a normal interpreter exit would wait on its lock.
        sys.stderr.flush()
        out.flush()
        os._exit(code)
    return _render(args.job)


if __name__ == "__main__":
    sys.exit(main())
