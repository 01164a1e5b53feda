"""What reaches the terminal equals what the app would paint on a full repaint,
after each step a user takes: the harness in harness.py."""

from __future__ import annotations

import pytest

from yachat import paths
from yachat.store import Store

from ...support import Script
from .harness import Terminal

# A stream that pauses between chunks long enough for a check in between
# (a check is a settle, a resize and back: about a second).
SLOW = {"chunk_chars": 700, "delay_ms": 2500}
LONG_ANSWER = "\n\n".join(f"Paragraph {i}: " + " ".join(f"word{i}x{j}" for j in range(40)) for i in range(12))
# An answer held mid-stream: two chunks, then silence with the stream still open.
HELD = {
    "match": "long",
    "answer": LONG_ANSWER,
    "chunk_chars": 700,
    "fault": {"kind": "stall", "after_chunks": 2},
}


def composer_row(term: Terminal) -> int:
    """The composer's text row; checked to sit right above the footer's two rows
    (its bottom border, then the footer) with no blank row between."""
    lines = term.lines()
    row = next(y for y, line in enumerate(lines) if "Message yachat" in line or "▊ a long one" in line)
    assert "▁▁▁" in lines[row + 1], f"no composer border under the composer:\n{term.text()}"
    assert row + 2 == len(lines) - 1, f"rows between the composer and the footer:\n{term.text()}"
    return row


def launched(term: Terminal) -> None:
    """Until the first screen is whole: a new thread, and the backend in the top bar
    (it connects after the first frame, and replaces "connecting…" when it has)."""
    term.wait_for("A new conversation")
    term.wait_for("local · server")


def start_stream(term: Terminal, question: str) -> None:
    term.wait_for("Message yachat")
    term.type(question)
    term.send("enter")
    term.wait_for("Paragraph 0", timeout=20)


def test_the_first_answer_in_an_empty_thread(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "hello", "answer": "Hello! **Bold** and `code` here.", "chunk_chars": 5})
    term = terminal()
    launched(term)
    term.assert_repaint_matches("launch")
    term.type("hello there")
    term.send("enter")
    term.wait_for("Bold and code here.")
    term.assert_repaint_matches("the first answer")


def test_pageup_mid_stream_then_end(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "long", "answer": LONG_ANSWER, **SLOW})
    term = terminal()
    start_stream(term, "a long one")
    term.wait_for("Paragraph 3")  # the second chunk: the pane overflows
    row = composer_row(term)
    term.send("pageup")
    term.assert_repaint_matches("PageUp mid-stream")
    term.wait_for("new content below", timeout=10)
    term.assert_repaint_matches("new content below shown")
    assert composer_row(term) == row  # the jump showing moved nothing
    term.send("end")
    term.assert_repaint_matches("End mid-stream")


def test_switching_thread_mid_stream_and_back(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    # Held mid-answer (a stall after two chunks, the stream still open): a chunk landing
    # between the two pictures of a repaint check would be a difference of its own (it
    # failed so on a busy machine, a 2.5 s pace being no guarantee).
    script.set(
        {
            "match": "long",
            "answer": LONG_ANSWER,
            "chunk_chars": 700,
            "fault": {"kind": "stall", "after_chunks": 2},
        }
    )
    term = terminal()
    start_stream(term, "a long one")
    term.send("ctrl+n")
    term.wait_for("A new conversation")
    term.assert_repaint_matches("a new thread mid-stream")
    x, y = term.find("a long one")  # the streaming thread in the sidebar
    term.click(x, y)  # focuses the list on that row
    term.send("enter")
    term.wait_for("Paragraph 0")
    term.assert_repaint_matches("back to the streaming thread")


def test_resize_smaller_and_larger(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "hello", "answer": LONG_ANSWER, "chunk_chars": 400})
    term = terminal()
    term.wait_for("Message yachat")
    term.type("hello")
    term.send("enter")
    term.wait_for("Paragraph 11")
    for cols, rows in [(100, 30), (80, 24), (140, 40), (120, 36)]:
        term.resize(cols, rows)
        term.assert_repaint_matches(f"resize to {cols}x{rows}", quiet=0.4)


def test_settings_opened_and_closed(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal()
    # Connected first: the top bar changing under the check would be a difference (it
    # failed so, on a busy machine: "connecting…" before the repaint, the backend after).
    launched(term)
    term.send("ctrl+s")
    term.wait_for("Temperature")
    term.assert_repaint_matches("settings open")
    term.send("escape")
    term.wait_for("Message yachat")
    term.assert_repaint_matches("settings closed")


def test_search_opened_typed_into_closed(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "bread", "answer": "Yeast makes bread rise.", "chunk_chars": 50})
    term = terminal()
    term.wait_for("Message yachat")
    term.type("why does bread rise")
    term.send("enter")
    term.wait_for("Yeast makes bread rise.")
    term.send("ctrl+f")
    term.assert_repaint_matches("search focused")
    term.type("yeast")
    term.wait_for("Messages")
    term.assert_repaint_matches("search typed into")
    term.send("escape")
    term.assert_repaint_matches("search closed")


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
def test_narrow_terminals(terminal, script: Script, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    script.set({"match": "hello", "answer": LONG_ANSWER, "chunk_chars": 400})
    cols, rows = size
    term = terminal(cols, rows)
    launched(term)
    term.assert_repaint_matches("launch")
    term.type("hello")
    term.send("enter")
    term.wait_for("Paragraph 11")
    term.assert_repaint_matches("an answer")
    term.send("ctrl+b")
    term.wait_for("Search threads")
    term.assert_repaint_matches("the sidebar over the conversation")
    term.send("escape")
    term.assert_repaint_matches("the sidebar closed")


def test_pageup_in_a_fast_stream_leaves_no_stale_rows(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    """As a model streams: chunks every few ms while the user pages up, the jump
    shows; once the stream ends, every cell must be what a repaint paints."""
    script.set({"match": "long", "answer": "\n\n".join([LONG_ANSWER] * 2), "chunk_chars": 15, "delay_ms": 8})
    term = terminal()
    term.wait_for("Message yachat")
    term.type("a long one")
    term.send("enter")
    term.wait_for("Paragraph 2")
    row = composer_row(term)
    term.send("pageup")
    term.wait_for("new content below", timeout=10)
    assert composer_row(term) == row
    term.send("pageup", "pagedown", "pageup")
    term.wait_still()  # the stream ended (the view stays put, scrolled up)
    term.assert_repaint_matches("PageUp in a fast stream")
    term.send("end")
    term.assert_repaint_matches("End after the stream")


def seed_long_thread(messages: int = 5000) -> None:
    """A thread of `messages` numbered messages in the store the TUI will open."""
    store = Store.open(paths.store_file())
    try:
        thread = store.create_thread("A very long thread", store.default_assistant().id)
        for i in range(messages):
            store.add_message(thread.id, "user" if i % 2 == 0 else "assistant", f"message number {i}")
    finally:
        store.close()


def open_long_thread(term: Terminal) -> None:
    term.wait_for("local · server")
    if "message number 4999" not in term.text():
        x, y = term.find("A very long thread")
        term.click(x, y)
        term.send("enter")
    term.wait_for("message number 4999")


def test_a_5000_message_thread_paged_to_its_start_and_end(terminal) -> None:  # type: ignore[no-untyped-def]
    seed_long_thread()
    term = terminal()
    open_long_thread(term)
    term.assert_repaint_matches("a 5,000-message thread opened")
    term.send("pageup", "pageup", "pageup")
    term.wait_still(0.5)
    term.assert_repaint_matches("three pages up")
    term.click(*term.find("message number 49"))  # a message takes the focus: Home and End are the pane's
    term.send("home")
    term.wait_for("message number 0 ")
    term.assert_repaint_matches("Home: the first message")
    term.send("end")
    term.wait_for("message number 4999")
    term.assert_repaint_matches("End: the last message")


def test_streaming_into_a_5000_message_thread_switching_away_and_back(terminal, script: Script) -> None:  # type: ignore[no-untyped-def]
    seed_long_thread()
    script.set(HELD)
    term = terminal()
    open_long_thread(term)
    term.click(*term.find("Message yachat"))
    start_stream(term, "a long one")
    term.send("pageup")
    term.assert_repaint_matches("PageUp mid-stream, 5,000 messages above")
    term.send("ctrl+n")
    term.wait_for("A new conversation")
    term.click(*term.find("A very long thread"))
    term.send("enter")
    term.wait_for("Paragraph 0")
    term.assert_repaint_matches("back to the long streaming thread")
