"""The knowledge screen and the sources list under Textual's Pilot, on a real store
indexing a real corpus (in a minimal app: the TUI's hook to them is the integrator's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static

from yachat.core.knowledge.indexer import add_paths
from yachat.store import Store
from yachat.store.knowledge import Passage
from yachat.tui.knowledge_screen import KnowledgeScreen
from yachat.tui.sources_view import SourceLine, SourcesList, compact_path, open_command, show_sources

from ..corpus import make_corpus
from .test_streaming import flat, screen_text, wait_for

pytestmark = pytest.mark.anyio
SIZE = (120, 36)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "yachat.db")
    yield s
    s.close()


class KnowledgeApp(App[None]):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def on_mount(self) -> None:
        self.push_screen(KnowledgeScreen(self.store, self.store.default_assistant()))


async def test_the_knowledge_screen_indexes_in_the_background_and_shows_what_it_skipped(
    store: Store, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    app = KnowledgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, KnowledgeScreen)
        assert "Nothing yet" in flat(screen_text(app))
        await pilot.press(*str(notes), "enter")
        await wait_for(pilot, lambda: not screen.indexing)
        report = str(screen.query_one("#report", Static).render())
        assert "Indexed 8 new and 0 changed files (13 passages)" in report
        assert f"{notes / 'docs' / 'scan.pdf'}: a PDF with no text layer" in report
        roots = screen.query_one("#roots", OptionList)
        await wait_for(pilot, lambda: roots.option_count == 1 and roots.get_option_at_index(0).id is not None)
        assert str(roots.get_option_at_index(0).prompt) == f"{notes}  8 files, 13 passages, 7 skipped"
        assert store.has_knowledge(store.default_assistant().id)

        await pilot.click("#reindex")
        await wait_for(pilot, lambda: not screen.indexing and "Indexed 0 new" in str(
            screen.query_one("#report", Static).render()))  # fmt: skip

        roots.highlighted = 0
        await pilot.click("#remove")
        await wait_for(pilot, lambda: roots.get_option_at_index(0).id is None)
        assert "Nothing yet" in str(roots.get_option_at_index(0).prompt)
        assert store.knowledge_roots() == []


async def test_a_path_that_does_not_exist_is_one_line(store: Store, tmp_path: Path) -> None:
    app = KnowledgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press(*str(tmp_path / "nowhere"), "enter")
        status = screen.query_one("#status")
        await wait_for(pilot, lambda: "does not exist" in str(status.render()))
        assert str(status.render()) == f"{tmp_path / 'nowhere'} does not exist; check the path."
        assert not screen.indexing


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pane"):
            yield Static("the answer [1]", id="m5")
            yield Static("a later message", id="m6")


async def test_sources_are_listed_under_their_answer_and_copy_path_and_line(
    store: Store, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    a = store.default_assistant().id
    add_paths(store, a, [notes])
    passages = store.retrieve(a, ["vault combination"])[:2]
    passages = [Passage(**{**p.__dict__, "number": i}) for i, p in enumerate(passages, start=1)]
    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one("#pane")
        show_sources(pane, 5, passages)
        await pilot.pause()
        assert [w.id for w in pane.children] == ["m5", "sources-5", "m6"]
        text = flat(screen_text(app))
        assert f"[1] {compact_path(str(notes / 'home' / 'vault.md'))}:5 — Household › Safe" in text
        assert "…/" in text  # a long path shows its end, where the file's name is
        line = app.query_one(SourcesList).query(SourceLine).first()
        line.focus()
        await pilot.press("c")
        assert app.clipboard == f"{notes / 'home' / 'vault.md'}:5"
        # Shown again (a regenerated answer): replaced, not doubled.
        show_sources(pane, 5, passages[:1])
        await pilot.pause()
        assert len(app.query(SourcesList)) == 1 and len(app.query(SourceLine)) == 1


def test_a_long_path_is_shown_by_its_end() -> None:
    assert compact_path("/a/b/notes/home/vault.md") == "/a/b/notes/home/vault.md"
    long = "/tmp/pytest-of-root/pytest-281/test_sources_under_the_answer_0/notes/home/vault.md"
    assert compact_path(long) == "…/notes/home/vault.md"
    assert compact_path("/" + "x" * 60 + ".md") == "…/" + "x" * 60 + ".md"


def test_the_source_opens_at_its_line_in_the_users_editor() -> None:
    md = Passage("/n/a.md", "markdown", "H", 12, 14, "text", number=1)
    pdf = Passage("/n/r.pdf", "pdf", "", 3, 3, "text", number=2)
    assert open_command(md, {"EDITOR": "vim"}) == ["vim", "+12", "/n/a.md"]
    assert open_command(md, {"VISUAL": "code --wait", "EDITOR": "vim"}) == ["code", "--wait", "/n/a.md:12"]
    assert open_command(md, {}) == ["less", "+12", "/n/a.md"]
    assert open_command(pdf, {"PAGER": "less"}) == ["less", "/n/r.pdf"]  # pages are not lines
    assert open_command(md, {"EDITOR": "ed"}) == ["ed", "/n/a.md"]
