"""`yachat ask --thread ID --retry`: the command a failed answer's line gives."""

from __future__ import annotations

import re

from yachat.store import Store

from ..support import Script
from .conftest import Yachat

RETRY_COMMAND = re.compile(r"retry with `yachat ask --thread (\d+) --retry`")


def test_a_failed_answer_says_how_to_retry_and_that_command_answers(yachat: Yachat, script: Script) -> None:
    script.set(
        {"match": "flaky", "times": 1,
         "fault": {"kind": "status", "code": "INTERNAL", "message": "model crashed", "after_chunks": 1}},
        {"match": "flaky", "answer": "steady now", "chunk_chars": 4},
    )  # fmt: skip
    failed = yachat("ask", "a flaky question")
    assert failed.returncode == 1
    # One line says what failed (the tokens the part used may follow).
    [line] = [each for each in failed.stderr.splitlines() if each.startswith("yachat:")]
    assert "model crashed" in line and "press Retry" not in line
    command = RETRY_COMMAND.search(line)
    assert command is not None, line

    thread_id = command.group(1)
    retried = yachat("ask", "--thread", thread_id, "--retry")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout == "steady now\n"
    assert f"[thread {thread_id}]" in retried.stderr

    store = Store.open(yachat.home / "data" / "yachat.db")
    try:
        messages = store.list_messages(int(thread_id))
    finally:
        store.close()
    # The failed answer was replaced, the question not asked twice.
    assert [(m.role, m.text) for m in messages] == [("user", "a flaky question"), ("assistant", "steady now")]

    again = yachat("ask", "--thread", thread_id, "--retry")
    assert again.returncode == 1
    assert (
        again.stderr
        == f"yachat: the last answer in thread {thread_id} is complete; there is nothing to retry.\n"
    )


def test_an_answer_that_failed_for_a_reason_without_a_hint_still_gets_the_command(
    yachat: Yachat, script: Script
) -> None:
    script.set({"match": "refused", "fault": {"kind": "status", "code": "INVALID_ARGUMENT",
                                              "message": "too long", "after_chunks": 0}})  # fmt: skip
    failed = yachat("ask", "refused please")
    assert failed.returncode == 1
    [line] = [each for each in failed.stderr.splitlines() if each.startswith("yachat:")]
    assert line.startswith("yachat: The request was refused: too long; then retry with `yachat ask --thread ")


def test_retry_needs_a_thread_and_no_question(yachat: Yachat) -> None:
    alone = yachat("ask", "--retry")
    assert alone.returncode == 2 and alone.stderr.count("\n") == 1 and "--thread" in alone.stderr
    with_question = yachat("ask", "--thread", "1", "--retry", "new question")
    assert with_question.returncode == 2 and with_question.stderr.count("\n") == 1
    missing = yachat("ask", "--thread", "999", "--retry")
    assert missing.returncode == 1 and "thread 999 does not exist" in missing.stderr
    assert yachat("ask", "--new", "--retry").returncode == 2
