"""`threads export -o NAME`: the file always gets its format's extension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yachat.core.export import export_target

from ..support import Script
from .conftest import Yachat


@pytest.mark.parametrize(
    ("name", "fmt", "path", "as_"),
    [
        ("notes", None, "notes.md", "md"),
        ("notes.md", None, "notes.md", "md"),
        ("notes.MD", None, "notes.MD", "md"),
        ("data.json", None, "data.json", "json"),
        ("data", "json", "data.json", "json"),
        ("plan.txt", None, "plan.txt.md", "md"),
        ("data.md", "json", "data.md.json", "json"),  # the format asked for wins; the name says so too
    ],
)
def test_export_target(name: str, fmt: str | None, path: str, as_: str) -> None:
    assert export_target(name, fmt) == (Path(path), as_)


def test_export_target_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert export_target("~/t") == (tmp_path / "t.md", "md")


def test_threads_export_adds_the_extension(yachat: Yachat, script: Script, tmp_path: Path) -> None:
    script.set({"match": "giraffe", "answer": "Giraffes sleep about 30 minutes a day."})
    assert yachat("ask", "giraffe facts").returncode == 0
    thread_id = yachat("threads", "list").stdout.split()[0]
    done = yachat("threads", "export", thread_id, "-o", str(tmp_path / "giraffes"))
    assert done.returncode == 0 and done.stderr.strip().endswith("giraffes.md")
    assert "30 minutes" in (tmp_path / "giraffes.md").read_text()
    assert (
        yachat("threads", "export", thread_id, "--format", "json", "-o", str(tmp_path / "g")).returncode == 0
    )
    assert json.loads((tmp_path / "g.json").read_text())["name"] == "giraffe facts"
    assert yachat("threads", "export", thread_id, "-o", str(tmp_path / "by-name.json")).returncode == 0
    assert json.loads((tmp_path / "by-name.json").read_text())["messages"][1]["role"] == "assistant"
    assert not (tmp_path / "giraffes").exists() and not (tmp_path / "g").exists()
