"""The built app bundle, end to end: runs installer/build_bundle.sh and installer/smoke_bundle.sh.

Takes minutes, so it runs only with SOUL_STUDIO_BUNDLE_TEST=1. An existing bundle is
reused when SOUL_STUDIO_BUNDLE_DIR points at it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SOUL_STUDIO_BUNDLE_TEST") != "1", reason="set SOUL_STUDIO_BUNDLE_TEST=1"),
]


@pytest.mark.timeout(1800)
def test_bundle_builds_and_passes_its_smoke_test():
    bundle = os.environ.get("SOUL_STUDIO_BUNDLE_DIR")
    if not bundle:
        build = subprocess.run(["bash", "installer/build_bundle.sh", "--no-archive"], cwd=ROOT,
                               capture_output=True, text=True, timeout=1500)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        bundle = str(ROOT / "dist" / "soul-studio")
    exe = Path(bundle) / "soul-studio"
    assert exe.is_file() and os.access(exe, os.X_OK)
    assert not list(Path(bundle).rglob("libtorch*.so*")), "torch must not be in the bundle"
    smoke = subprocess.run(["bash", "installer/smoke_bundle.sh", bundle], cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
    assert "smoke_bundle: OK" in smoke.stdout
    assert "OK window=" in smoke.stdout and "shots=4" in smoke.stdout
