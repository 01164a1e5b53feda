"""Long threads from the command line: what was left out of the prompt is said on
stderr, a message too long is one clear line, a cut-off answer is marked."""

from __future__ import annotations

from yachat.store import Store

from ..support import Script
from .conftest import Yachat

LONG_ANSWER = " ".join(f"Point {i}: a long and chatty answer about the question." for i in range(12))
SEED_SESSION = "Привет!\nСколько будет 2 + 2?\nА 15234 - 265?\n"


def set_assistant(yachat: Yachat, **fields: object) -> Store:
    store = Store.open(yachat.home / "data" / "yachat.db")
    store.update_assistant(store.default_assistant().id, **fields)
    return store


def test_plain_chat_seed_session_then_more_turns_fits_and_says_so(yachat: Yachat, script: Script) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=100)
    set_assistant(yachat, prompt_token_budget=600).close()
    more = "".join(f"Question {n}: and then?\n" for n in range(12))
    result = yachat("chat", "--plain", input=SEED_SESSION + more + "exit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("assistant> Point 0:") == 15
    left_out = [line for line in result.stderr.splitlines() if "not sent to the model" in line]
    assert left_out and left_out[0].startswith("yachat: ") and "earlier messages were not sent" in left_out[0]
    assert "Traceback" not in result.stderr


def test_ask_on_a_long_thread_says_how_many_messages_were_left_out(yachat: Yachat, script: Script) -> None:
    store = set_assistant(yachat, prompt_token_budget=500)
    try:
        thread = store.create_thread("long")
        for n in range(20):
            store.add_message(thread.id, "user", f"question {n} " + "word " * 40)
            store.add_message(thread.id, "assistant", f"answer {n} " + "word " * 40)
    finally:
        store.close()
    result = yachat("ask", "--thread", str(thread.id), "and the last one?")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "not sent to the model" in line]
    assert len(lines) == 1
    omitted = int(lines[0].split()[1])
    assert 25 < omitted < 38  # about 43 scripted tokens a message, 500 for the prompt
    store = Store.open(yachat.home / "data" / "yachat.db")
    try:
        run = store.list_runs(thread.id)[-1]
        assert run.omitted_messages == omitted and run.input_tokens is not None and run.input_tokens <= 500
    finally:
        store.close()


def test_ask_with_a_message_too_long_says_by_how_much(yachat: Yachat) -> None:
    set_assistant(yachat, prompt_token_budget=300).close()
    result = yachat("ask", " ".join(f"w{i}" for i in range(400)))
    assert result.returncode == 1
    errors = [
        line for line in result.stderr.splitlines() if line.startswith("yachat: The message is too long")
    ]
    assert len(errors) == 1 and "more than the 300 it may have" in errors[0]
    assert "Traceback" not in result.stderr


def test_a_cut_off_answer_is_marked(yachat: Yachat, script: Script) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=20)
    set_assistant(yachat, max_tokens=10).close()
    result = yachat("ask", "talk at length")
    assert result.returncode == 0, result.stderr
    assert "the answer was cut off after" in result.stderr and "length limit" in result.stderr
    shown = yachat("threads", "show", result.stderr.split("[thread ")[1].split("]")[0])
    assert "assistant [cut off]" in shown.stdout
