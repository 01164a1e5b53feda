"""The sidebar and the history: launch, open, search, new, rename, delete, undo, scroll."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input

from yachat.core.chat import ChatCore
from yachat.settings import Settings
from yachat.store.models import SearchHit
from yachat.tui.message_pane import MessageWidget
from yachat.tui.sidebar import ThreadList, _hit_prompt

from ..support import Script
from .conftest import SIZE
from .test_streaming import flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio


def seeded_core(settings: Settings) -> ChatCore:
    """A store with two threads written through the store, as an earlier session left it."""
    core = ChatCore.open_store(settings)
    old = core.new_thread("Kitchen chemistry")
    core.store.add_message(old.id, "user", "Why does bread rise?")
    core.store.add_message(old.id, "assistant", "Yeast ferments sugars and releases **carbon dioxide**.")
    new = core.new_thread("Rust lifetimes")
    core.store.add_message(new.id, "user", "What is 'a in Rust?")
    core.store.add_message(
        new.id, "assistant", "A lifetime parameter:\n\n```rust\nfn f<'a>(x: &'a str) {}\n```"
    )
    return core


async def test_launch_shows_the_history_and_the_latest_thread(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "fn f<'a>" in screen_text(app))
        text = screen_text(app)
        assert "Today" in text and "Kitchen chemistry" in text and "Rust lifetimes" in text
        assert "fn f<'a>(x: &'a str) {}" in text  # the newest thread is open, its code shown
        assert [t.name for t in app.sidebar.threads] == ["Rust lifetimes", "Kitchen chemistry"]


async def test_opening_another_thread_shows_its_history(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        other = app.sidebar.threads[1]
        app.sidebar.option_list.focus()
        app.sidebar.highlight(other.id)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.thread_id == other.id and "Yeast" in screen_text(app))
        assert "Yeast ferments sugars" in flat(screen_text(app))
        assert "fn f<'a>" not in screen_text(app)


async def test_search_finds_and_opens_a_message(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    core = seeded_core(settings)
    for i in range(30):
        t = core.new_thread(f"filler {i}")
        core.store.add_message(t.id, "user", f"filler question {i}")
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        await pilot.press(*"ferment")
        await wait_for(pilot, lambda: app.sidebar.searching)
        text = screen_text(app)
        assert "Messages" in text and "ferments" in text  # the matching snippet
        app.sidebar.option_list.focus()
        ol = app.sidebar.option_list
        ol.highlighted = next(
            i for i in range(ol.option_count) if (ol.get_option_at_index(i).id or "").startswith("h")
        )
        kitchen = next(t for t in core.store.list_threads() if t.name == "Kitchen chemistry")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.thread_id == kitchen.id and isinstance(app.focused, MessageWidget))
        assert app.thread_id == kitchen.id
        assert isinstance(app.focused, MessageWidget) and "carbon dioxide" in app.focused.message.text


async def test_the_results_are_in_place_when_the_typed_letter_is(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    """The search runs as the field changes, not on a later message: no frame can show
    the new text with the old results (which held the results' frame back a frame timer tick)."""
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        search = app.query_one("#search", Input)
        search.value = "ferment"  # no await: nothing else has run since
        assert app.sidebar.searching
        assert any("ferments" in str(o.prompt) for o in app.sidebar.option_list.options)
        search.value = ""
        assert not app.sidebar.searching and len(app.sidebar.threads) == 2


async def test_one_letter_searches_the_titles_and_two_the_messages(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f", "c")
        prompts = [str(o.prompt).strip() for o in app.sidebar.option_list.options]
        assert "Kitchen chemistry" in prompts  # the title, from one letter
        assert prompts[-1] == "Messages: type one more letter" and "Messages" not in prompts
        await pilot.press("a")  # "carbon dioxide", in a message
        prompts = [str(o.prompt).strip() for o in app.sidebar.option_list.options]
        assert "Messages" in prompts and "Messages: type one more letter" not in prompts
        await pilot.press("backspace", "backspace", "z")  # no title has a z: the hint, not "No matches"
        prompts = [str(o.prompt).strip() for o in app.sidebar.option_list.options]
        assert prompts == ["Messages: type one more letter"]


async def test_escape_leaves_the_search_and_shows_the_threads_again(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f", *"ferment")
        assert app.sidebar.searching
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.composer.has_focus)
        assert app.query_one("#search", Input).value == "" and not app.sidebar.searching
        shown = [str(o.prompt).strip() for o in app.sidebar.option_list.options]
        assert "Kitchen chemistry" in shown and "Rust lifetimes" in shown and "Messages" not in shown


def test_a_hit_shows_its_thread_bold_and_the_match_emphasised_in_the_dim_snippet() -> None:
    hit = SearchHit(
        1, 2, "Baking [b]notes[/b]", "user", "why \x02yeast\x03 [i]works\n\x1b[31mso \x02well\x03", 0.0
    )
    prompt = _hit_prompt(hit).content
    assert prompt.plain == "Baking [b]notes[/b]\n  why yeast [i]works so well"  # markup and escapes stay text
    styles = {
        word: prompt.get_style_at_offset(prompt.plain.index(word))
        for word in ("Baking", "why", "yeast", "well")
    }
    assert styles["Baking"].bold and not styles["Baking"].dim
    assert styles["why"].bold and styles["why"].dim and not styles["why"].reverse
    assert styles["yeast"].bold and styles["yeast"].reverse and styles["well"].reverse


async def test_search_with_fts_syntax_does_not_break(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+f")
        await pilot.press(*'"NEAR( a* [bold]')
        # Searched as typed (an FTS syntax error would have raised out of the app):
        # the list shows results or says there are none, and the query stays as typed.
        await wait_for(pilot, lambda: app.sidebar.searching)
        assert app.query_one("#search", Input).value == '"NEAR( a* [bold]'
        prompts = [str(o.prompt) for o in app.sidebar.option_list.options]
        assert prompts == ["No matches"] or "Messages" in prompts or "Threads" in prompts


async def delete_from_the_sidebar(pilot, app, thread_id: int) -> None:  # type: ignore[no-untyped-def]
    """As the user deletes a thread: highlighted in the history, d, then y to confirm."""
    app.sidebar.option_list.focus()
    app.sidebar.highlight(thread_id)
    await pilot.press("d")
    await wait_for(pilot, lambda: len(app.screen_stack) > 1)
    await pilot.press("y")
    await wait_for(pilot, lambda: app.core.store.get_thread(thread_id) is None and len(app.screen_stack) == 1)


async def test_new_rename_delete_and_undo(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        assert app.thread_id is None and app.focused is app.composer
        await type_and_send(pilot, "2 + 2")
        await wait_for(pilot, lambda: app.pane.live() is None and len(app.pane.message_widgets()) == 2)
        assert app.sidebar.threads[0].name == "2 + 2" and len(app.sidebar.threads) == 3

        app.sidebar.option_list.focus()
        app.sidebar.highlight(app.sidebar.threads[0].id)
        await pilot.press("f2")
        await wait_for(pilot, lambda: len(app.screen_stack) > 1)
        screen_input = app.screen.query_one("#answer")
        screen_input.value = "Arithmetic [red]now[/]"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.sidebar.threads[0].name == "Arithmetic [red]now[/]")
        assert "Arithmetic [red]now[/]" in screen_text(app)

        deleted = app.sidebar.threads[0].id
        await delete_from_the_sidebar(pilot, app, deleted)
        assert [t.id for t in app.sidebar.threads if t.id == deleted] == []
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: app.core.store.get_thread(deleted) is not None)
        restored = app.core.store.get_thread(deleted)
        assert restored is not None and next(m.text for m in app.core.store.list_messages(deleted)) == "2 + 2"


def core_with_thread(settings: Settings, name: str, messages: int) -> ChatCore:
    """A core whose store holds one thread of `messages` numbered messages, taking turns."""
    core = ChatCore.open_store(settings)
    thread = core.new_thread(name)
    for i in range(messages):
        core.store.add_message(thread.id, "user" if i % 2 == 0 else "assistant", f"message number {i}")
    return core


def shows(app, number: int) -> bool:  # type: ignore[no-untyped-def]
    return re.search(rf"message number {number}(?!\d)", screen_text(app)) is not None


def mounted_texts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.message.text for w in app.pane.message_widgets()]


def assert_contiguous(app) -> None:  # type: ignore[no-untyped-def]
    """The mounted messages are a run of the thread, in order, none twice."""
    shown = mounted_texts(app)
    first = int(shown[0].rsplit(" ", 1)[1])
    assert shown == [f"message number {i}" for i in range(first, first + len(shown))]


async def test_long_thread_mounts_only_what_is_near_the_view(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=core_with_thread(settings, "Long", 200))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "message number 199" in screen_text(app))
        assert 0 < len(app.pane.message_widgets()) < 100
        app.pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: shows(app, 0))
        assert app.pane.scroll_y == 0
        assert_contiguous(app)


async def test_a_5000_message_thread_is_read_from_the_store_by_position(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=core_with_thread(settings, "Very long", 5000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "message number 4999" in screen_text(app))
        pane = app.pane
        assert pane.thread_length() == 5000
        assert len(pane.message_widgets()) < 100  # the newest only, not the whole thread
        # The scrollbar covers the whole thread: the spacers stand for the rest.
        assert pane.virtual_size.height > 5000 * 2
        # Scroll up a page at a time, as a reader does: every page shows messages.
        for _ in range(10):
            before = pane.scroll_y
            pane.scroll_page_up(animate=False)
            await wait_for(pilot, lambda before=before: pane.scroll_y < before)  # type: ignore[misc]
            await wait_for(pilot, lambda: "message number" in screen_text(app))
        assert_contiguous(app)
        pane.focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: mounted_texts(app)[:1] == ["message number 0"])
        await wait_for(pilot, lambda: shows(app, 0))
        assert pane.mounted_positions().start == 0
        await pilot.press("end")
        await wait_for(pilot, lambda: "message number 4999" in screen_text(app))
        assert pane.mounted_positions().stop == 5000
        assert len(pane.message_widgets()) < 100
        assert_contiguous(app)


async def test_scrolling_up_during_a_stream_stops_following(make_app, settings, script: Script) -> None:  # type: ignore[no-untyped-def]
    core = ChatCore.open_store(settings)
    thread = core.new_thread("Scroll")
    for i in range(20):
        core.store.add_message(thread.id, "user" if i % 2 == 0 else "assistant", f"line {i}\n\n" * 3)
    script.set({"match": "stream", "answer": "growing line\n\n" * 400, "chunk_chars": 14, "delay_ms": 20})
    app = make_app(core=core)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "stream a lot")
        await wait_for(pilot, lambda: app.pane.live() is not None and len(app.pane.live().text) > 300)
        await wait_for(pilot, lambda: app.pane.scroll_y >= app.pane.max_scroll_y - 2)  # following
        target = max(0, app.pane.scroll_y - 15)
        app.pane.scroll_to(y=target, animate=False)
        await wait_for(pilot, lambda: app.pane.scroll_y == target)
        held = app.pane.scroll_y
        live = app.pane.live()
        assert live is not None
        received = len(live.text)
        await wait_for(pilot, lambda: live.shown_chars > received + 100)  # more chunks arrive...
        assert app.pane.scroll_y == held  # ...and the view stays put
        await wait_for(pilot, lambda: app.query_one("#jump").display)  # "new content below"
        await pilot.click("#jump")
        await wait_for(pilot, lambda: app.pane.follow and app.pane.scroll_y >= app.pane.max_scroll_y - 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.pane.live() is None)


async def test_opening_thread_list_item_by_click(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        opened: list[int] = []
        app.sidebar.option_list.focus()
        app.sidebar.post_message(ThreadList.Opened(app.sidebar.threads[1].id))
        await wait_for(pilot, lambda: app.thread_id == app.sidebar.threads[1].id)
        opened.append(app.thread_id or 0)
        assert opened == [app.sidebar.threads[1].id]


async def test_a_thread_switch_is_followed_by_a_full_collection(make_app, settings) -> None:  # type: ignore[no-untyped-def]
    import gc

    def full_passes() -> int:
        return int(gc.get_stats()[2]["collections"])

    app = make_app(core=seeded_core(settings))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "fn f<'a>" in screen_text(app))
        before = full_passes()
        app.open_thread(app.sidebar.threads[1].id)
        await wait_for(pilot, lambda: "Yeast" in screen_text(app))
        # The removed message widgets are old garbage by now: only a full pass frees them,
        # and the app's thresholds leave the oldest generation alone far longer than this.
        await wait_for(pilot, lambda: full_passes() > before)
