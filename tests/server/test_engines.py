"""The engines' own rules, without a server: where an answer stops."""

from __future__ import annotations

from yachat.server.engines.base import ChatMessage, GenerationRequest
from yachat.server.engines.llama import LoopGuard, available_cores, trained_context
from yachat.server.engines.scripted import ScriptedEngine


def test_the_loop_guard_stops_an_answer_that_repeats_itself() -> None:
    prompt = list(range(1000, 1010))
    guard = LoopGuard(len(prompt), window=4)
    answer = [1, 2, 3, 4, 5, 6, 7, 8]
    assert not guard(prompt + answer, None)
    # New words, and the same words in another order, are no loop.
    answer += [2, 1, 3, 4, 9]
    assert not guard(prompt + answer, None)
    answer += [5, 6, 7, 8]  # four tokens said before, in the same order
    assert guard(prompt + answer, None) and guard.fired


def test_the_loop_guard_ignores_the_prompt() -> None:
    prompt = [1, 2, 3, 4]
    guard = LoopGuard(len(prompt), window=4)
    assert not guard(prompt + [1, 2, 3, 4], None)  # the answer quotes the question once


def test_trained_context_is_read_from_the_architecture_key() -> None:
    assert trained_context({"general.architecture": "llama", "llama.context_length": "8192"}) == 8192
    assert trained_context({"general.architecture": "qwen2", "qwen2.context_length": "32768"}) == 32768
    assert trained_context({}) is None


def test_threads_follow_the_cores_this_process_may_use() -> None:
    import os

    assert available_cores() == len(os.sched_getaffinity(0))


def _answer(engine: ScriptedEngine, question: str, max_tokens: int) -> tuple[str, int, bool]:
    request = GenerationRequest((ChatMessage("user", question),), None, max_tokens, lambda: False)
    pieces = list(engine.generate(request))
    return "".join(p.text for p in pieces), sum(p.tokens for p in pieces), any(p.cut for p in pieces)


def test_the_scripted_engine_stops_exactly_at_max_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(None, context=100)
    assert engine.context == 100
    full = _answer(engine, "2 + 2", 50)
    assert full == ("2 + 2 = 4", 5, False)
    assert _answer(engine, "2 + 2", 5) == ("2 + 2 = 4", 5, False)  # ends right at the limit: not cut
    assert _answer(engine, "2 + 2", 3) == ("2 + 2", 3, True)
