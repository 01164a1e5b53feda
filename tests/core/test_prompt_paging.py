"""A long thread's prompt reads only the newest pages the budget can hold."""

from __future__ import annotations

import anyio
import pytest

from yachat.core import prompt_fitting
from yachat.core.chat import ChatCore
from yachat.store.models import RunStatus

from ..support import Script
from .test_chat_runs import Recorder


def long_thread(core: ChatCore, messages: int) -> int:
    thread = core.new_thread("Long")
    for i in range(messages // 2):
        core.store.add_message(thread.id, "user", f"Question {i}: what about part {i}?")
        core.store.add_message(thread.id, "assistant", f"Part {i} is about the {i}th thing, briefly.")
    return thread.id


def test_a_long_thread_sends_its_newest_messages_and_reads_few_pages(
    core: ChatCore, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    script.set(echo=True)
    assistant = core.store.default_assistant()
    core.store.update_assistant(assistant.id, prompt_token_budget=900, max_tokens=2000)
    thread_id = long_thread(core, 1000)
    pages: list[int | None] = []
    page = core.store.message_page

    def counted(thread: int, limit: int, before_id: int | None = None):  # type: ignore[no-untyped-def]
        pages.append(before_id)
        return page(thread, limit, before_id)

    monkeypatch.setattr(core.store, "message_page", counted)
    final = anyio.run(core.send, thread_id, "And the last question?", Recorder())

    assert final.status is RunStatus.COMPLETED
    assert 0 < len(pages) < 1001 // prompt_fitting.PROMPT_PAGE  # not the whole thread
    run = core.store.list_runs(thread_id)[-1]
    history = [m for m in core.store.list_messages(thread_id) if m.role == "user" or m.id < final.message_id]
    sent = [m for m in history if m.id >= run.first_sent_message_id]
    assert run.omitted_messages == len(history) - len(sent) > 0
    # The server echoes the prompt: the newest messages, oldest of them first, the last question at the end.
    echoed = [line for line in final.text.splitlines() if not line.startswith("system: ")]
    assert echoed[-1] == "user: And the last question?"
    assert echoed[0] == f"{sent[0].role}: {sent[0].text}"
    assert len(echoed) == len(sent)


def test_a_short_thread_is_read_whole(core: ChatCore, script: Script) -> None:
    script.set(echo=True)
    thread_id = long_thread(core, 10)
    final = anyio.run(core.send, thread_id, "And now?", Recorder())
    run = core.store.list_runs(thread_id)[-1]
    assert run.omitted_messages == 0
    assert len([line for line in final.text.splitlines() if not line.startswith("system: ")]) == 11
