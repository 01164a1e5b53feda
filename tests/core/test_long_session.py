"""Long sessions: every prompt fits, oldest messages go first and the user is told;
a message too long on its own is a clear error; a cut-off answer says so."""

from __future__ import annotations

import itertools

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import PromptFitted, RunEvent, TextDelta
from yachat.store.models import MessageStatus, RunStatus

from ..support import Script
from .test_chat_runs import Recorder
from .test_prompt import scripted_count

SEED_SESSION = ["Привет!", "Сколько будет 2 + 2?", "А 15234 - 265?"]
# About 170 scripted tokens: a long answer next to a small prompt budget.
LONG_ANSWER = " ".join(
    f"Point {i}: the answer goes on at length, as a chatty model does, about the question." for i in range(10)
)
BUDGET = 900


def small_budget(core: ChatCore, budget: int = BUDGET, max_tokens: int = 400) -> None:
    assistant = core.store.default_assistant()
    core.store.update_assistant(assistant.id, prompt_token_budget=budget, max_tokens=max_tokens)


def turns() -> list[str]:
    return SEED_SESSION + [f"Question {n}: tell me more about part {n}." for n in range(30)]


def run_session(core: ChatCore, questions: list[str]) -> tuple[int, list[RunEvent], list[Recorder]]:
    thread = core.new_thread()
    finals: list[RunEvent] = []
    recorders: list[Recorder] = []

    async def main() -> None:
        for question in questions:
            rec = Recorder()
            finals.append(await core.send(thread.id, question, rec))
            recorders.append(rec)

    anyio.run(main)
    return thread.id, finals, recorders


def test_seed_session_and_30_long_turns_all_fit(core: ChatCore, script: Script) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=200)
    small_budget(core)
    thread_id, finals, recorders = run_session(core, turns())

    assert [f.status for f in finals] == [RunStatus.COMPLETED] * 33
    assert "15234 - 265 = 14969" not in finals[2].text  # the long rule answered, not arithmetic
    runs = core.store.list_runs(thread_id)
    assert len(runs) == 33
    for run in runs:
        assert run.prompt_budget == BUDGET and run.prompt_tokens is not None
        # What the server counted in the prompt it received: never over the budget.
        assert run.input_tokens is not None and run.input_tokens <= BUDGET
        assert run.prompt_tokens == run.input_tokens  # the core counted what the server saw
    # Early turns send everything; once the thread outgrows the budget, the oldest go.
    assert runs[0].omitted_messages == 0
    assert runs[-1].omitted_messages and runs[-1].omitted_messages > 40
    left_out = [r.omitted_messages for r in runs]
    assert left_out == sorted(left_out)  # the cut only moves forward in a growing thread
    # Each run said so as it started: a PROMPT update, before the first text.
    for rec, run in zip(recorders, runs, strict=True):
        prompts = [u for u in rec.updates if isinstance(u, PromptFitted)]
        assert len(prompts) == 1 and prompts[0].prompt is not None
        assert prompts[0].prompt.omitted == run.omitted_messages
        assert rec.kinds().index(PromptFitted) < rec.kinds().index(TextDelta)
    # The cut is where the run says: every message before the first one sent was left out.
    messages = core.store.list_messages(thread_id)
    last = runs[-1]
    first_sent = next(i for i, m in enumerate(messages) if m.id == last.first_sent_message_id)
    assert first_sent == last.omitted_messages


def test_a_long_thread_costs_a_few_tokenize_calls_per_send(core: ChatCore, script: Script) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=200)
    small_budget(core)
    thread_id, _, _ = run_session(core, turns()[:12])
    calls: list[int] = []

    async def more() -> None:
        for n in range(4):
            await core.send(thread_id, f"and one more, number {n}", Recorder())
            calls.append(core.fitter._counts[next(iter(core.fitter._counts))].calls)

    anyio.run(more)
    per_send = [b - a for a, b in itertools.pairwise(calls)]
    # The two new messages (the last answer, the question), and one check of the whole.
    assert per_send and max(per_send) <= 4, per_send


def test_the_counts_are_kept_with_the_messages(core: ChatCore, script: Script, settings) -> None:  # type: ignore[no-untyped-def]
    script.set(answer=LONG_ANSWER, chunk_chars=200)
    small_budget(core)
    thread_id, _, _ = run_session(core, turns()[:10])
    counted = [m for m in core.store.list_messages(thread_id) if m.token_count is not None]
    assert len(counted) >= 8 and all(m.token_model for m in counted)
    # A new process (a new core) on the same store counts only what is new.
    fresh = ChatCore.open_store(settings)
    try:

        async def one() -> None:
            await fresh.send(thread_id, "one more", Recorder())
            await fresh.aclose()

        anyio.run(one)
        # The instruction, the new messages (and the few that short prompts never needed
        # counted), a check, and one more once the framing is measured: not one per message.
        calls = next(iter(fresh.fitter._counts.values())).calls
        assert calls <= 8 < len(core.store.list_messages(thread_id))
    finally:
        fresh.store.close()


def test_newest_message_too_long_is_a_clear_error(core: ChatCore, script: Script) -> None:
    small_budget(core, budget=300)
    thread = core.new_thread()
    huge = " ".join(f"word{i}" for i in range(500))
    final, _ = anyio.run(lambda: _send(core, thread.id, huge))
    assert final.status is RunStatus.FAILED
    instruction = core.store.default_assistant().instruction
    needed = anyio.run(
        scripted_count, [{"role": "system", "text": instruction}, {"role": "user", "text": huge}]
    )
    assert final.error is not None and "\n" not in final.error
    assert f"needs {needed:,} tokens, {needed - 300:,} more than the 300" in final.error
    messages = core.store.list_messages(thread.id)
    assert messages[0].text == huge  # the question is kept, to edit or shorten


async def _send(core: ChatCore, thread_id: int, text: str) -> tuple[RunEvent, Recorder]:
    rec = Recorder()
    return await core.send(thread_id, text, rec), rec


def test_an_answer_cut_at_max_tokens_is_marked(core: ChatCore, script: Script) -> None:
    script.set(answer=LONG_ANSWER, chunk_chars=20)
    small_budget(core, budget=7000, max_tokens=12)
    thread = core.new_thread()
    final, _ = anyio.run(lambda: _send(core, thread.id, "talk at length"))
    assert final.status is RunStatus.COMPLETED and final.truncated
    assert final.usage is not None and final.usage.completion_tokens >= 12
    run = core.store.list_runs(thread.id)[-1]
    assert run.truncated and run.finish_reason == "TRUNCATED_FINAL"
    assert core.store.list_messages(thread.id)[-1].status is MessageStatus.COMPLETE
    # A whole answer is not marked.
    small_budget(core, budget=7000, max_tokens=2000)
    whole, _ = anyio.run(lambda: _send(core, thread.id, "again"))
    assert not whole.truncated and core.store.list_runs(thread.id)[-1].finish_reason == "FINAL"


def test_the_local_answer_is_labelled_with_the_local_model(core: ChatCore) -> None:
    thread = core.new_thread()
    final, _ = anyio.run(lambda: _send(core, thread.id, "hello"))
    run = core.store.list_runs(thread.id)[-1]
    assert run.model_uri == "yandexgpt/latest"  # what was asked for
    # What answered: the local server's model (its name once the server tells it).
    assert final.answered_by == run.answered_by == (core.backend.model_name or run.model_version)  # type: ignore[union-attr]
    assert run.answered_by and "yandexgpt" not in run.answered_by


@pytest.mark.parametrize("context", [1024])
def test_a_small_local_context_bounds_the_budget(core: ChatCore, script: Script, context: int) -> None:
    """The local server's context (once it reports one) caps the budget, minus the answer's room."""
    script.set(answer=LONG_ANSWER, chunk_chars=200)

    async def main() -> list[RunEvent]:
        backend = await core.connect()
        backend.context_tokens = backend.context_tokens or context
        thread = core.new_thread()
        out = []
        for question in turns()[:12]:
            out.append(await core.send(thread.id, question, Recorder()))
        return out

    finals = anyio.run(main)
    assert all(f.status is RunStatus.COMPLETED for f in finals)
    context_tokens = core.backend.context_tokens  # type: ignore[union-attr]
    budget = min(7000, context_tokens - min(2000, context_tokens // 2))
    runs = core.store.list_runs(finals[0].thread_id)
    assert {r.prompt_budget for r in runs} == {budget}
    assert all(r.input_tokens is not None and r.input_tokens <= budget for r in runs)
    assert runs[-1].omitted_messages
