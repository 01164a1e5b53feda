"""Answers grounded in the assistant's knowledge, through the real SDK against the
scripted server: its echo rule answers with the prompt it got, so a test reads
exactly what was sent (the passages, their numbers, the instruction to cite)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from yachat.core.chat import ChatCore
from yachat.core.events import PromptFitted, RunEvent, SourcesFound, TextDelta
from yachat.core.knowledge.indexer import add_paths
from yachat.core.knowledge.prompting import CITE, KNOWLEDGE_SHARE
from yachat.server.engines.base import ChatMessage
from yachat.server.engines.text_tokens import prompt_tokens
from yachat.store.models import RunStatus

from ..corpus import PLANTED, make_corpus
from ..support import Script


def send(core: ChatCore, thread_id: int, text: str) -> tuple[RunEvent, list[RunEvent]]:
    updates: list[RunEvent] = []

    async def main() -> RunEvent:
        return await core.send(thread_id, text, updates.append)

    return anyio.run(main), updates


def test_the_answer_is_given_the_passage_that_holds_the_fact_and_names_its_file(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    assistant = core.store.default_assistant()
    add_paths(core.store, assistant.id, [notes])
    script.set({"match": "combination", "echo": True})
    thread_id = core.new_thread().id

    final, updates = send(core, thread_id, "What is the vault combination?")
    assert final.status is RunStatus.COMPLETED
    sent = final.text  # the prompt, as the server received it
    system = sent.split("\nuser: ")[0]
    assert system.startswith(f"system: {assistant.instruction}\n\n{CITE}")
    assert f"[1] vault.md:5 (Household › Safe)\n{PLANTED}" in system
    assert sent.endswith("user: What is the vault combination?")

    (sources,) = [u for u in updates if isinstance(u, SourcesFound)]
    assert sources.sources[0].path == str(notes / "home" / "vault.md") and sources.sources[0].number == 1
    kinds = [type(u) for u in updates]
    assert kinds.index(PromptFitted) < kinds.index(SourcesFound) < kinds.index(TextDelta)
    # Stored with the run, as sent: an export shows them.
    assert core.store.run_sources(final.run_id) == list(sources.sources)
    md = core.threads.export(thread_id, "md")
    assert f"- [1] {notes / 'home' / 'vault.md'}:5 — Household › Safe" in md
    exported = json.loads(core.threads.export(thread_id, "json"))
    (answer,) = [m for m in exported["messages"] if m["role"] == "assistant"]
    assert answer["sources"][0]["where"] == f"{notes / 'home' / 'vault.md'}:5"
    assert PLANTED in answer["sources"][0]["text"]


def test_no_knowledge_no_passages(core: ChatCore, script: Script) -> None:
    script.set({"match": "hello", "echo": True})
    final, updates = send(core, core.new_thread().id, "hello there")
    assert CITE not in final.text
    assert SourcesFound not in [type(u) for u in updates]
    assert core.store.run_sources(final.run_id) == []


def test_passages_take_at_most_their_share_and_history_is_fitted_after_them(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    folder = tmp_path / "otters"
    folder.mkdir()
    for i in range(10):  # ten relevant passages of ~150 tokens each: not all fit
        words = " ".join(f"otter{i}x{j}" for j in range(140))
        (folder / f"otters-{i}.md").write_text(f"# Otters {i}\n\nOtters hold hands. {words}\n")
    budget = 1000
    assistant = core.store.create_assistant("otters", "yandexgpt/latest", instruction="Be brief.")
    core.store.update_assistant(
        assistant.id, prompt_token_budget=budget, max_tokens=4000
    )  # room for the echo
    add_paths(core.store, assistant.id, [folder])
    thread_id = core.new_thread(assistant_id=assistant.id).id
    script.set({"match": "otters", "echo": True}, answer="ok " * 100)
    for i in range(8):  # a history of ~100 tokens a message
        send(core, thread_id, f"turn {i} " + "chatter " * 60)

    final, updates = send(core, thread_id, "why do otters hold hands?")
    (sources,) = [u.sources for u in updates if isinstance(u, SourcesFound)]
    (prompt,) = [u.prompt for u in updates if isinstance(u, PromptFitted)]
    assert 1 <= len(sources) < 10
    system = final.text.split("\nuser: ")[0].removeprefix("system: ")
    assert [f"[{p.number}]" in system for p in sources] == [True] * len(sources)
    assert f"\n\n[{len(sources) + 1}] " not in system
    passage_tokens = len(prompt_tokens((ChatMessage("system", system),))) - len(
        prompt_tokens((ChatMessage("system", "Be brief."),))
    )
    assert passage_tokens <= budget * KNOWLEDGE_SHARE
    # The conversation got the rest: older turns left out, the whole within the budget.
    assert prompt is not None and prompt.omitted > 0 and prompt.tokens is not None and prompt.tokens <= budget
    run = core.store.get_run(final.run_id)
    assert run is not None and run.prompt_tokens == prompt.tokens and run.prompt_budget == budget


def test_a_follow_up_finds_passages_through_the_turns_before_it(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    add_paths(core.store, core.store.default_assistant().id, [notes])
    thread_id = core.new_thread().id
    script.set({"match": "Kazan", "answer": "Kazan is on the Volga."}, {"match": "eat", "echo": True})
    send(core, thread_id, "Tell me about Kazan")
    final, updates = send(core, thread_id, "and what did we eat?")
    (sources,) = [u.sources for u in updates if isinstance(u, SourcesFound)]
    assert sources[0].heading == "Travel notes › Kazan" and "chak-chak" in final.text


def test_a_question_that_leaves_no_room_for_passages_is_sent_without_them() -> None:
    from yachat.core.prompt import MessageCounts, build_prompt
    from yachat.store.knowledge import Passage
    from yachat.store.models import Message, MessageStatus

    from .test_prompt import assistant, scripted_count

    passage = Passage("/n/a.md", "markdown", "H", 1, 2, "word " * 200)
    question = Message(1, 1, "user", "why " * 300, MessageStatus.COMPLETE, 0.0, None)

    short = Passage("/n/b.md", "markdown", "", 1, 1, "brief " * 20)

    async def fit(budget: int, passages: list[Passage]) -> tuple[int, int | None, str]:
        fitted = await build_prompt(
            assistant(), [question], MessageCounts("m", scripted_count), budget, passages=passages
        )
        return len(fitted.passages), fitted.tokens, fitted.messages[0]["text"]

    # Room for the question and two passages in their half of the budget, not three.
    given, tokens, system = anyio.run(fit, 1400, [passage] * 3)
    assert given == 2 and tokens is not None and tokens <= 1400 and "[2] a.md:1-2 (H)" in system
    # Short passages fit their share, but the question alone nearly fills the budget:
    # it is sent without them, and without a word about them.
    given, tokens, system = anyio.run(fit, 330, [short] * 3)
    assert given == 0 and tokens is not None and tokens <= 320 and system == "Be brief."
