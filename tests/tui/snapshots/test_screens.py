"""Snapshots of every screen the README shows (see scenes.py for how each is built).

A change to what a screen shows fails here with the stored and the new SVG side by
side; when the change is meant, `pytest tests/tui/snapshots --snapshot-update`
stores the new pictures (look at them first), and scripts/screenshots.py makes the
README's PNGs from the same scenes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.image import SVGImageSnapshotExtension

from .scenes import SCENES, Stage, shoot, stage

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def the_stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with stage(tmp_path_factory.mktemp("stage")) as made:
        yield made


@pytest.fixture
def screens(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(SVGImageSnapshotExtension)


@pytest.mark.parametrize("name", list(SCENES))
async def test_screen(
    name: str, the_stage: Stage, screens: SnapshotAssertion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(the_stage.home))
    assert await shoot(the_stage, name, tmp_path) == screens
