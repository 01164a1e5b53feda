"""The scripted engine: deterministic answers, pacing and faults, for tests.

Its script is a JSON file, re-read on every request so a test can change the
behaviour without restarting the server:

    {"default": {"chunk_chars": 8, "delay_ms": 0},
     "rules": [{"match": "substring of the last user message",
                "answer": "text", "reasoning": "thought first", "echo": false, "chunk_chars": 5,
                "delay_ms": 20, "times": 1,
                "fault": {"kind": "status", "code": "UNAVAILABLE",
                          "message": "...", "after_chunks": 3}}]}

Tools offered with a request are called by the rule in `tool_script` (calls
come before any rule's answer; a rule's pacing and faults still apply), and
the answer after their results says what each returned.

The first rule whose `match` is in the last user message applies (`times`
limits how often; counts reset when the file changes). Fault kinds: `status`
(end with that gRPC code after N chunks), `stall` (go silent after N chunks
until the client cancels), `drop` (after N chunks the call ends as a dropped
connection: UNAVAILABLE), `rewrite` (after N chunks the answer is replaced by a
refusal and ends with status CONTENT_FILTER). With no matching rule the answer
is a function of the prompt: an arithmetic question gets its result.

Its context is `DEFAULT_CONTEXT` tokens, as Yandex's own models have, or what
`yachat serve --context N` says: a small one lets a test reach the end of the
context in a few turns. Tokens are words and punctuation (see text_tokens).
"""

from __future__ import annotations

import ast
import bisect
import json
import operator
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yachat.server.engines.base import (
    ChatMessage,
    Drop,
    Fault,
    GenerationRequest,
    Piece,
    Stall,
    Token,
    ToolCall,
)
from yachat.server.engines.text_tokens import count_tokens, prompt_tokens, token_offsets, word_tokens
from yachat.server.engines.tool_script import planned_calls, results_answer

DEFAULT_CONTEXT = 32_768

REFUSAL = "I can't discuss that. Let's talk about something else."
_ARITHMETIC = re.compile(r"^[\d\s+\-*/().]+$")
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


class ScriptedEngine:
    name = "scripted"
    model_name = "scripted"
    model_version = "scripted"
    max_answer_tokens: int | None = None
    parallel = True
    tool_calls = True

    def __init__(self, script_path: str | None, context: int | None = None) -> None:
        self.script_path = Path(script_path) if script_path else None
        self.context = context or DEFAULT_CONTEXT
        self._uses: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]:
        return prompt_tokens(messages)

    def generate(self, request: GenerationRequest) -> Iterator[Piece]:
        question = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
        rule = self._rule_for(question)
        chunk_chars = max(1, int(rule.get("chunk_chars", 8)))
        delay = float(rule.get("delay_ms", 0)) / 1000
        fault = rule.get("fault") or {}
        after = int(fault.get("after_chunks", 0))
        calls = planned_calls(request)
        if calls:
            yield from _calls(calls, fault, delay, request)
            return
        if rule.get("echo"):  # the answer is the prompt: what tests read to see what was sent
            answer = "\n".join(f"{m.role}: {m.prompt_text}" for m in request.messages)
        else:
            answer = results_answer(request.messages) or rule.get("answer") or default_answer(question)

        used = 0  # tokens of reasoning and answer: both count towards max_tokens
        thought = str(rule.get("reasoning") or "")
        for i in range(0, len(thought), chunk_chars):
            if delay and _sleep_unless_stopped(delay, request):
                return
            piece = thought[i : i + chunk_chars]
            cost = max(1, count_tokens(piece))
            used += cost
            yield Piece(piece, tokens=cost, reasoning=True)
        starts = range(0, len(answer), chunk_chars)
        token_starts = token_offsets(answer)
        chunks = [answer[i : i + chunk_chars] for i in starts]
        answered = 0
        for index, chunk in enumerate(chunks):
            if fault and index == after:
                yield from _inject(fault)
                return
            if delay and _sleep_unless_stopped(delay, request):
                return
            # The tokens this chunk adds to the answer: a word split over two chunks counts once.
            cost = max(1, bisect.bisect_left(token_starts, starts[index] + len(chunk)) - answered)
            if used + cost > request.max_tokens:
                # Stop exactly at the limit, as a model does: the answer is cut mid-chunk.
                room = request.max_tokens - used
                yield Piece("".join(word_tokens(chunk)[:room]), tokens=max(0, room), cut=True)
                return
            used += cost
            answered += cost
            yield Piece(chunk, tokens=cost)
        if fault and after >= len(chunks):
            yield from _inject(fault)

    def _rule_for(self, question: str) -> dict[str, Any]:
        script = self._load()
        default = dict(script.get("default") or {})
        version = self._version()
        with self._lock:
            for index, rule in enumerate(script.get("rules") or []):
                if str(rule.get("match", "")) not in question:
                    continue
                key = (version, index)
                used = self._uses.get(key, 0)
                if "times" in rule and used >= int(rule["times"]):
                    continue
                self._uses[key] = used + 1
                return {**default, **rule}
        return default

    def _load(self) -> dict[str, Any]:
        if self.script_path is None:
            return {}
        try:
            data = json.loads(self.script_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise Fault("INTERNAL", f"scripted engine: cannot read {self.script_path}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def _version(self) -> int:
        try:
            stat = os.stat(self.script_path) if self.script_path else None
        except OSError:
            return 0
        return hash((stat.st_mtime_ns, stat.st_size, stat.st_ino)) if stat else 0


def _calls(
    calls: list[ToolCall], fault: dict[str, Any], delay: float, request: GenerationRequest
) -> Iterator[Piece]:
    for index, call in enumerate(calls):
        if fault and index == int(fault.get("after_chunks", 0)):
            yield from _inject(fault)
            return
        if delay and _sleep_unless_stopped(delay, request):
            return
        cost = max(1, count_tokens(call.name + json.dumps(call.arguments)))
        yield Piece("", tokens=cost, call=call)
    if fault and int(fault.get("after_chunks", 0)) >= len(calls):
        yield from _inject(fault)


def _inject(fault: dict[str, Any]) -> Iterator[Piece]:
    kind = fault.get("kind", "status")
    if kind == "status":
        code = str(fault.get("code", "INTERNAL"))
        raise Fault(code, str(fault.get("message") or f"scripted fault {code}"))
    if kind == "stall":
        raise Stall()
    if kind == "drop":
        raise Drop()
    if kind == "rewrite":
        yield Piece(str(fault.get("text") or REFUSAL), tokens=1, rewrite=True)
        return
    raise Fault("INTERNAL", f"scripted engine: unknown fault kind {kind!r}")


def _sleep_unless_stopped(seconds: float, request: GenerationRequest) -> bool:
    """Sleep in small steps; True if the client went away meanwhile."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if request.should_stop():
            return True
        time.sleep(min(left, 0.02))
    return request.should_stop()


def default_answer(question: str) -> str:
    q = question.strip()
    if q and _ARITHMETIC.match(q):
        try:
            value = _evaluate(ast.parse(q, mode="eval").body)
            shown = int(value) if float(value).is_integer() else round(value, 6)
            return f"{q} = {shown}"
        except (SyntaxError, ValueError, ZeroDivisionError, TypeError, RecursionError):
            pass
    flat = " ".join(q.split())
    quoted = flat if len(flat) <= 80 else flat[:79] + "…"
    return (
        f'You said: "{quoted}". This is the scripted engine of the yachat local server: '
        "its answers are deterministic, so tests can check every word."
    )


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))  # type: ignore[operator]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))  # type: ignore[operator]
    raise ValueError("not arithmetic")
