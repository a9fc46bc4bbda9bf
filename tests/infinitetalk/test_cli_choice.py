"""``--backend infinitetalk`` is accepted wherever a render starts from the command line."""

from __future__ import annotations

import pytest

from soul_studio.cli import build_parser


@pytest.mark.parametrize("argv", [
    ["render", "scene.soulproj", "--backend", "infinitetalk"],
    ["render", "scene.soulproj", "--farm", "local", "--backend", "infinitetalk"],
    ["shot", "ada.png", "line.wav", "--backend", "infinitetalk"],
])
def test_backend_choice(argv):
    assert build_parser().parse_args(argv).backend == "infinitetalk"


def test_one_shot_hint_points_at_the_catalogue():
    from soul_studio.render.oneshot import cli_fix

    assert "models catalogue" in cli_fix("no model folder set", backend="infinitetalk")
