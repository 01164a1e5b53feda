"""requirements.lock pins every requirement of pyproject.toml, and the suite runs on the lock.

scripts/setup installs `.[local,dev]` with the lock as constraints; a requirement
added to pyproject.toml without `scripts/lock` would install unpinned, so it fails here.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def locked() -> dict[str, list[Requirement]]:
    pins: dict[str, list[Requirement]] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            req = Requirement(line)
            pins.setdefault(canonicalize_name(req.name), []).append(req)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in project["dependencies"] + extras["local"] + extras["dev"]]


def pinned_here(pins: list[Requirement]) -> str | None:
    """The version the lock gives this platform and Python, if any."""
    env = default_environment()
    for req in pins:
        if req.marker is None or req.marker.evaluate(env):
            (spec,) = req.specifier
            return spec.version
    return None


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_requirement_is_locked_within_its_bounds(requirement: Requirement) -> None:
    pins = locked().get(canonicalize_name(requirement.name))
    assert pins, f"{requirement.name} is not in requirements.lock: run scripts/lock --keep"
    for pin in pins:
        (spec,) = pin.specifier
        assert spec.operator == "=="
        assert requirement.specifier.contains(spec.version, prereleases=True), (
            f"requirements.lock has {pin}, outside {requirement}: run scripts/lock"
        )


def test_textual_and_rich_are_capped() -> None:
    """yachat relies on their internals: a new minor release is tried, not assumed."""
    for name in ("textual", "rich"):
        (req,) = [r for r in declared() if r.name == name]
        assert any(spec.operator == "<" for spec in req.specifier), req


def test_the_suite_runs_on_the_locked_versions() -> None:
    wrong = []
    for name, pins in locked().items():
        version = pinned_here(pins)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. the local extra left out
        if version is not None and installed != version:
            wrong.append(f"{name} {installed} (lock: {version})")
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}; run scripts/setup"
