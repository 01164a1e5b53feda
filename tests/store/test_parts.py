"""An answer as parts: stored in order, read back with its message, carried by undo
and fork, gone with its message; an answer of text alone reads as its parts too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from yachat.store import MessageStatus, Store
from yachat.store.models import Part, PartKind, ToolStatus

from .test_upgrade import FIXTURE


def answer_with_a_call(store: Store) -> tuple[int, int, list[Part]]:
    thread = store.create_thread("tools", store.default_assistant().id)
    store.add_message(thread.id, "user", "weather in Kazan?")
    answer = store.add_message(thread.id, "assistant", "It is sunny.", status=MessageStatus.COMPLETE)
    parts = [
        Part(PartKind.REASONING, "I should look it up."),
        Part(
            PartKind.TOOL_CALL,
            call_id="call_1",
            tool="weather",
            server="meteo",
            arguments='{"city": "Kazan"}',
            status=ToolStatus.DONE,
        ),
        Part(
            PartKind.TOOL_RESULT,
            '{"sky": "clear"}',
            call_id="call_1",
            tool="weather",
            server="meteo",
            duration_s=0.25,
        ),
        Part(PartKind.TEXT, "It is sunny."),
        Part(PartKind.NOTICE, "a note kept with the answer"),
    ]
    store.save_parts(answer.id, parts)
    return thread.id, answer.id, parts


def test_parts_come_back_in_order_with_their_message(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "y.db")
    _, answer_id, parts = answer_with_a_call(store)
    (message,) = store.with_parts([store.get_message(answer_id)])  # type: ignore[list-item]
    assert message.part_count == len(parts)
    assert message.parts == tuple(parts)
    assert message.all_parts() == tuple(parts)
    # Written again whole: the stored picture is always one answer's.
    store.save_parts(answer_id, parts[:2])
    assert store.parts_of([answer_id])[answer_id] == tuple(parts[:2])
    store.close()


def test_an_answer_of_text_alone_reads_as_its_reasoning_and_text(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "y.db")
    thread = store.create_thread("plain", store.default_assistant().id)
    message = store.add_message(thread.id, "assistant", "Hello.")
    store.update_message(message.id, reasoning="Say hello.")
    (read,) = store.with_parts([store.get_message(message.id)])  # type: ignore[list-item]
    assert read.part_count == 0 and read.parts == ()
    assert read.all_parts() == (Part(PartKind.REASONING, "Say hello."), Part(PartKind.TEXT, "Hello."))
    store.close()


def test_undo_of_a_delete_and_a_fork_keep_the_calls(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "y.db")
    thread_id, answer_id, parts = answer_with_a_call(store)
    snapshot = store.snapshot_thread(thread_id)
    store.delete_thread(thread_id)
    assert store.parts_of([answer_id]) == {}  # gone with the thread
    store.restore_thread(snapshot)
    assert store.parts_of([answer_id])[answer_id] == tuple(parts)

    follow_up = store.add_message(thread_id, "user", "and tomorrow?")
    fork = store.fork_thread(thread_id, follow_up.id)
    copied = store.with_parts(store.list_messages(fork.id))
    assert [m.role for m in copied] == ["user", "assistant"]
    assert copied[1].parts == tuple(parts) and copied[1].reasoning == ""
    store.delete_message(answer_id)
    assert store.parts_of([answer_id]) == {}
    store.close()


def test_tool_output_is_not_in_the_message_search(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "y.db")
    answer_with_a_call(store)
    assert store.search("sunny")
    assert not store.search("clear")  # only in the tool's result
    (hit,) = store.search_tool_output("CLEAR")  # unless asked for
    assert hit.role == "tool weather" and "\x02clear\x03" in hit.snippet
    assert store.search_tool_output("Kazan")  # the arguments too
    assert store.search_tool_output("100%") == []  # LIKE's wildcards are plain text
    store.close()


def test_always_answers_are_kept_per_assistant(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "y.db")
    first = store.default_assistant().id
    other = store.create_assistant("other", "yandexgpt/latest").id
    store.set_tool_permission(first, "meteo/weather", "allow")
    store.set_tool_permission(first, "fs/delete", "deny")
    store.set_tool_permission(first, "meteo/weather", "deny")
    assert store.tool_permissions(first) == {"meteo/weather": "deny", "fs/delete": "deny"}
    assert store.tool_permissions(other) == {}
    store.set_tool_permission(first, "fs/delete", None)
    assert store.tool_permissions(first) == {"meteo/weather": "deny"}
    updated = store.update_assistant(other, tools=["meteo", "fs/read"])
    assert updated.tools == ("meteo", "fs/read")
    assert store.update_assistant(other, tools=None).tools is None
    store.close()


def test_an_old_store_upgrades_and_its_messages_read_as_text_parts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text(encoding="utf-8"))
    conn.close()
    store = Store.open(path)
    messages = store.with_parts(store.list_messages(1))
    assert messages and all(m.part_count == 0 and m.parts == () for m in messages)
    assert messages[1].all_parts() == (Part(PartKind.TEXT, messages[1].text),)
    assert store.default_assistant().tools is None
    store.close()
