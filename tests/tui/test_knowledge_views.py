"""The knowledge screen and the sources list under Textual's Pilot, on a real store
indexing a real corpus (in a minimal app: the TUI's hook to them is the integrator's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import OptionList, Static

from yachat.core.chat import ChatCore
from yachat.core.knowledge.indexer import add_paths
from yachat.server.process import ServerProcess
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.knowledge import Passage
from yachat.tui.knowledge_screen import KnowledgeScreen
from yachat.tui.sources_view import SourceLine, SourcesList, compact_path, open_command

from ..corpus import make_corpus
from ..support import Script, local_settings
from .test_history import delete_from_the_sidebar
from .test_streaming import flat, screen_text, type_and_send, wait_for

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
    def __init__(self, store: Store, core: ChatCore | None = None) -> None:
        super().__init__()
        self.store = store
        self.core = core

    def on_mount(self) -> None:
        embed = self.core.embed_knowledge if self.core else None
        self.push_screen(KnowledgeScreen(self.store, self.store.default_assistant(), embed))


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


async def test_the_knowledge_screen_embeds_the_passages_after_indexing_them(
    server: ServerProcess, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    core = ChatCore.open_store(local_settings(server, tmp_path))
    statuses: list[str] = []
    app = KnowledgeApp(core.store, core)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, KnowledgeScreen)
            status = screen.query_one("#status")
            watch = lambda: statuses.append(str(status.render())) or False  # noqa: E731
            await pilot.press(*str(notes), "enter")
            await wait_for(pilot, lambda: watch() or not screen.indexing)
            assert statuses[-1] == "Done; 13 passages embedded."
            assert "Embedding passages…" in statuses or any(
                s.startswith("Embedding passages: ") for s in statuses
            )
            roots = screen.query_one("#roots", OptionList)
            assert str(roots.get_option_at_index(0).prompt) == (
                f"{notes}  8 files, 13 passages (13 with vectors), 7 skipped"
            )
    finally:
        await core.aclose()


async def test_a_path_that_does_not_exist_is_one_line(store: Store, tmp_path: Path) -> None:
    app = KnowledgeApp(store)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await pilot.press(*str(tmp_path / "nowhere"), "enter")
        status = screen.query_one("#status")
        await wait_for(pilot, lambda: "does not exist" in str(status.render()))
        assert str(status.render()) == f"{tmp_path / 'nowhere'} does not exist; check the path."
        assert not screen.indexing


def core_with_notes(settings: Settings, tmp_path: Path) -> tuple[ChatCore, Path]:
    """A chat core whose default assistant answers from the test corpus."""
    notes = make_corpus(tmp_path)
    core = ChatCore.open_store(settings)
    add_paths(core.store, core.store.default_assistant().id, [notes])
    return core, notes


async def test_sources_are_listed_under_their_answer_and_copy_path_and_line(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script, tmp_path: Path
) -> None:
    core, notes = core_with_notes(settings, tmp_path)
    script.set({"match": "vault", "answer": "It is 7319-ALPHA [1].", "chunk_chars": 4})
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "What is the vault combination?")
        await wait_for(pilot, lambda: bool(app.pane.query(SourcesList)) and not app.runs.active)
        await pilot.pause()
        kinds = [type(w).__name__ for w in app.pane.shown()]
        assert kinds[-2:] == ["MessageWidget", "SourcesList"]  # right under the answer
        text = flat(screen_text(app))
        vault = notes / "home" / "vault.md"
        assert f"[1] {compact_path(str(vault))}:5 — Household › Safe" in text
        line = app.query_one(SourcesList).query(SourceLine).first()
        line.focus()
        await pilot.press("c")
        assert app.clipboard == f"{vault}:5"
        # The thread opened again from the history shows them under the same answer.
        thread_id = app.thread_id
        app.open_thread(None)
        await pilot.pause()
        app.open_thread(thread_id)
        stored = core.store.thread_sources(thread_id)[core.store.list_runs(thread_id)[-1].id]
        await wait_for(pilot, lambda: len(app.pane.query(SourceLine)) == len(stored))
        kinds = [type(w).__name__ for w in app.pane.shown()]
        assert kinds[-2:] == ["MessageWidget", "SourcesList"]


async def test_undoing_a_delete_shows_the_answers_sources_again(  # type: ignore[no-untyped-def]
    make_app, settings, script: Script, tmp_path: Path
) -> None:
    core, _ = core_with_notes(settings, tmp_path)
    script.set({"match": "vault", "answer": "It is 7319-ALPHA [1]."})
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "What is the vault combination?")
        await wait_for(pilot, lambda: bool(app.pane.query(SourceLine)) and not app.runs.active)
        thread_id = app.thread_id
        shown = [str(line.render()) for line in app.pane.query(SourceLine)]
        await delete_from_the_sidebar(pilot, app, thread_id)
        assert not app.pane.query(SourceLine)
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: app.thread_id == thread_id and bool(app.pane.query(SourceLine)))
        assert [str(line.render()) for line in app.pane.query(SourceLine)] == shown
        kinds = [type(w).__name__ for w in app.pane.shown()]
        assert kinds[-2:] == ["MessageWidget", "SourcesList"]


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


async def test_the_tui_says_when_passages_have_no_vectors_for_this_backend(  # type: ignore[no-untyped-def]
    make_app, settings, tmp_path: Path
) -> None:
    core, notes = core_with_notes(settings, tmp_path)  # indexed by words only: no vectors yet
    for n in range(10):
        (notes / f"day{n}.md").write_text(f"# Day {n}\n\nA note of day {n}.\n", encoding="utf-8")
    add_paths(core.store, core.store.default_assistant().id, [notes])
    app = make_app(core=core)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: "have no vectors" in flat(screen_text(app)))
        assert "23 passages of your knowledge have no vectors from this backend's embeddings" in flat(
            screen_text(app)
        )
