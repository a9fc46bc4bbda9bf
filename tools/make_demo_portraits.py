"""Paint the demo project's two cast portraits into resources/demo/media/.

The demo ships with no photographs: Ada and Ben are painted procedurally by
engine.media.synthetic, checked to be found by the sketch backend's face analysis,
and written as PNG files small enough to keep in the repository.

    python tools/make_demo_portraits.py [--size 640] [--out resources/demo/media]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.sketch.face import analyse_portrait  # noqa: E402
from engine.media import save_image  # noqa: E402
from engine.media.synthetic import draw_portrait  # noqa: E402

# name -> (seed, hair style); seeds chosen for two clearly different looks.
CAST = {"ada": (7, "long"), "ben": (4, "short")}
MAX_BYTES = 600_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=640, help="width and height in pixels")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "demo" / "media")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (seed, style) in CAST.items():
        rgb = draw_portrait(seed, (args.size, args.size), hair_style=style)
        analysis = analyse_portrait(rgb)
        if analysis.face is None or analysis.faces_found != 1:
            print(f"{name}: face analysis found {analysis.faces_found} faces; pick another seed", file=sys.stderr)
            return 1
        path = args.out / f"{name}.png"
        save_image(path, rgb)
        size = path.stat().st_size
        if size > MAX_BYTES:
            print(f"{name}: {size} bytes is over {MAX_BYTES}; use a smaller --size", file=sys.stderr)
            return 1
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {args.size}x{args.size}, "
              f"{size // 1024} KB, face {analysis.face.to_list()}, eyes {analysis.eyes_source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
