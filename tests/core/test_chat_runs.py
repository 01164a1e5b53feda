"""Runs through the real SDK over real gRPC against the scripted local server."""

from __future__ import annotations

import time

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.events import Notice, RunEvent, RunFinished, RunStarted, TextDelta, TextReplaced
from yachat.store.models import MessageStatus, RunStatus

from ..support import Script


class Recorder:
    def __init__(self) -> None:
        self.updates: list[RunEvent] = []

    def __call__(self, update: RunEvent) -> None:
        self.updates.append(update)

    def kinds(self) -> list[type]:
        return [type(u) for u in self.updates]

    def shown(self) -> str:
        text = ""
        for u in self.updates:
            if isinstance(u, TextDelta):
                text += u.text
            elif isinstance(u, TextReplaced):
                text = u.text
        return text


def send(core: ChatCore, thread_id: int, text: str) -> tuple[RunEvent, Recorder]:
    rec = Recorder()

    async def main() -> RunEvent:
        return await core.send(thread_id, text, rec)

    return anyio.run(main), rec


def test_answer_streams_in_pieces_and_is_stored(core: ChatCore, script: Script) -> None:
    script.set({"match": "tell", "answer": "One two three four five six seven.", "chunk_chars": 5})
    thread = core.new_thread()
    final, rec = send(core, thread.id, "tell me a story")
    assert final.status is RunStatus.COMPLETED
    assert rec.kinds()[0] is RunStarted and rec.kinds()[-1] is RunFinished
    assert rec.kinds().count(TextDelta) > 3
    assert rec.shown() == "One two three four five six seven." == final.text
    messages = core.store.list_messages(thread.id)
    assert [(m.role, m.text, m.status) for m in messages] == [
        ("user", "tell me a story", MessageStatus.COMPLETE),
        ("assistant", final.text, MessageStatus.COMPLETE),
    ]
    run = core.store.get_run(messages[1].run_id or 0)
    assert run is not None and run.status is RunStatus.COMPLETED
    assert run.completion_tokens and run.input_tokens and run.total_tokens
    assert run.model_version and run.first_chunk_s is not None
    assert core.store.get_thread(thread.id).name == "tell me a story"  # type: ignore[union-attr]


def test_half_streamed_answer_is_in_the_store_before_the_end(core: ChatCore, script: Script) -> None:
    answer = " ".join(f"word{i}" for i in range(40))
    script.set({"match": "slow", "answer": answer, "chunk_chars": 10, "delay_ms": 40})
    thread = core.new_thread()
    seen_in_store: list[str] = []

    def watch(update: RunEvent) -> None:
        if isinstance(update, TextDelta) and not seen_in_store:
            message = core.store.get_message(update.message_id)
            if message and message.text and len(message.text) < len(answer):
                seen_in_store.append(message.text)
                assert message.status is MessageStatus.STREAMING

    anyio.run(core.send, thread.id, "slow please", watch)
    assert seen_in_store and answer.startswith(seen_in_store[0])


def test_cancel_keeps_what_arrived(core: ChatCore, script: Script) -> None:
    script.set({"match": "long", "answer": "x " * 400, "chunk_chars": 4, "delay_ms": 20})
    thread = core.new_thread()
    rec = Recorder()

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                await core.send(thread.id, "a long one", rec)

            tg.start_soon(run)
            while rec.kinds().count(TextDelta) < 5:
                await anyio.sleep(0.01)
            started = time.monotonic()
            tg.cancel_scope.cancel()
        assert time.monotonic() - started < 1.0

    anyio.run(main)
    final = rec.updates[-1]
    assert isinstance(final, RunFinished) and final.status is RunStatus.CANCELLED
    answer = core.store.list_messages(thread.id)[-1]
    assert answer.status is MessageStatus.CANCELLED
    assert answer.text and answer.text == rec.shown() and len(answer.text) < 800
    assert core.store.get_run(answer.run_id or 0).status is RunStatus.CANCELLED  # type: ignore[union-attr]


def test_server_error_is_one_sentence_then_retry_works(core: ChatCore, script: Script) -> None:
    script.set(
        {
            "match": "flaky",
            "answer": "partial then broken",
            "chunk_chars": 4,
            "times": 1,
            "fault": {"kind": "status", "code": "INTERNAL", "message": "boom", "after_chunks": 2},
        },
        {"match": "flaky", "answer": "now it works", "chunk_chars": 4},
    )
    thread = core.new_thread()
    final, _ = send(core, thread.id, "flaky question")
    assert final.status is RunStatus.FAILED
    assert final.error and "\n" not in final.error and "Traceback" not in final.error
    failed = core.store.list_messages(thread.id)[-1]
    assert failed.status is MessageStatus.FAILED and failed.text  # the partial answer is kept

    rec = Recorder()
    retried = anyio.run(core.retry, thread.id, rec)
    assert retried.status is RunStatus.COMPLETED and retried.text == "now it works"
    messages = core.store.list_messages(thread.id)
    assert [m.role for m in messages] == ["user", "assistant"]  # replaced, not duplicated
    assert messages[-1].text == "now it works"


def test_unavailable_is_retried_visibly_and_stored_once(core: ChatCore, script: Script) -> None:
    script.set(
        {
            "match": "busy",
            "times": 1,
            "fault": {"kind": "status", "code": "UNAVAILABLE", "message": "overloaded", "after_chunks": 0},
        },
        {"match": "busy", "answer": "served after a retry", "chunk_chars": 6},
    )
    thread = core.new_thread()
    final, rec = send(core, thread.id, "busy server?")
    notices = [u.text for u in rec.updates if isinstance(u, Notice)]
    assert any("retrying in" in n for n in notices)
    assert final.status is RunStatus.COMPLETED and final.text == "served after a retry"
    assert [m.role for m in core.store.list_messages(thread.id)] == ["user", "assistant"]


def test_stalled_stream_fails_after_the_idle_timeout(core: ChatCore, script: Script) -> None:
    script.set(
        {
            "match": "stall",
            "answer": "begins and then",
            "chunk_chars": 4,
            "fault": {"kind": "stall", "after_chunks": 2},
        }
    )
    thread = core.new_thread()
    started = time.monotonic()
    final, _ = send(core, thread.id, "stall now")
    assert time.monotonic() - started < 6
    assert final.status is RunStatus.FAILED and "sent nothing" in (final.error or "")
    assert core.store.list_messages(thread.id)[-1].text  # what arrived is kept


def test_rewrite_replaces_the_answer(core: ChatCore, script: Script) -> None:
    script.set(
        {
            "match": "secret",
            "answer": "The secret password is hunter2 and more",
            "chunk_chars": 6,
            "fault": {"kind": "rewrite", "after_chunks": 3},
        }
    )
    thread = core.new_thread()
    final, rec = send(core, thread.id, "tell the secret")
    assert TextReplaced in rec.kinds()
    stored = core.store.list_messages(thread.id)[-1]
    assert stored.text == rec.shown() == final.text
    assert not stored.text.startswith("The secret password")


def test_regenerate_replaces_the_last_answer(core: ChatCore, script: Script) -> None:
    script.set(
        {"match": "again", "answer": "first answer", "times": 1},
        {"match": "again", "answer": "second answer"},
    )
    thread = core.new_thread()
    send(core, thread.id, "again")
    final = anyio.run(core.regenerate, thread.id, Recorder())
    assert final.text == "second answer"
    assert [m.text for m in core.store.list_messages(thread.id)] == ["again", "second answer"]


def test_empty_message_is_not_sent(core: ChatCore) -> None:
    thread = core.new_thread()
    with pytest.raises(UserFacingError):
        send(core, thread.id, "  \n\t ")
    assert core.store.list_messages(thread.id) == []


def test_missing_thread_is_a_clear_error(core: ChatCore) -> None:
    with pytest.raises(UserFacingError, match="no longer exists"):
        send(core, 424242, "hello")


def test_history_goes_into_the_prompt(core: ChatCore, script: Script) -> None:
    thread = core.new_thread()
    send(core, thread.id, "2 + 2")
    final, _ = send(core, thread.id, "15234 - 265")
    assert "14969" in final.text
    assert len(core.store.list_messages(thread.id)) == 4


def test_search_finds_a_word_from_an_old_answer(core: ChatCore, script: Script) -> None:
    script.set({"match": "zebra", "answer": "Zebras have distinctive stripes.", "chunk_chars": 5})
    thread = core.new_thread()
    send(core, thread.id, "zebra facts")
    for i in range(5):
        other = core.new_thread()
        send(core, other.id, f"question {i}")
    hits = core.store.search("stripes")
    assert hits and hits[0].thread_id == thread.id and hits[0].role == "assistant"
