"""Assemble what the model sees: the instruction, then as much of the history as
fits the prompt's token budget, newest kept, oldest left out first.

Counting is cheap: each message is tokenized alone once (the count is kept
with the message), the history is cut by those counts, and one tokenize call
of the whole fitted prompt checks the cut. Counts of messages alone include
the framing a prompt has once (a start token, a default system prompt), so
their sum overestimates; the check measures by how much and takes back the
messages that fit after all.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from yachat.core.errors import UserFacingError
from yachat.core.knowledge.prompting import CITE, KNOWLEDGE_SHARE, numbered, passage_text, with_knowledge
from yachat.core.responses_wire import is_hosted
from yachat.store.assistants import DEFAULT_PROMPT_TOKEN_BUDGET
from yachat.store.knowledge import Passage
from yachat.store.models import Assistant, Message, MessageStatus, PartKind

# {"role", "text"}; an answer's tool round: {"role": "assistant", "text", "tool_calls": [{"id",
# "name", "arguments": dict}]} then {"role": "tool", "tool_results": [{"id", "name", "content"}]}
# (core/tools/wire.py makes them the SDK's messages for each transport).
PromptMessage = dict[str, Any]
TokenCounter = Callable[[list[PromptMessage]], Awaitable[int]]

# Answers that never produced text say nothing the model should see again.
_SKIPPED = SKIPPED_STATUSES = frozenset({MessageStatus.STREAMING})
# Room kept for the answer when the assistant sets no max tokens.
DEFAULT_ANSWER_ROOM = 2000
# Tokenize calls in flight at once while counting messages.
COUNT_CONCURRENCY = 8
# A prompt's tokens at most, without a tokenizer: each token a tokenizer makes covers
# at least one byte of the UTF-8 text, and a chat template adds role markers and
# separators around each message and, once, start tokens and perhaps a default
# system prompt (a few dozen tokens in the templates we know; these are well above).
FRAMING_PER_MESSAGE_AT_MOST = 16
FRAMING_PER_PROMPT_AT_MOST = 64


class PromptTooLong(UserFacingError):
    def __init__(self, tokens: int, budget: int) -> None:
        over = tokens - budget
        super().__init__(
            f"The message is too long for this model: the prompt needs {tokens:,} tokens, "
            f"{over:,} more than the {budget:,} it may have; shorten the message by about {over:,} tokens."
        )
        self.tokens, self.budget, self.over = tokens, budget, over


@dataclass(frozen=True)
class FittedPrompt:
    messages: list[PromptMessage]
    # The whole prompt, tokenized. None when nothing was counted, or when it was
    # sure to fit without counting (`count_later`): then it is for the caller to count.
    tokens: int | None
    budget: int | None
    omitted: int  # history messages left out, oldest first
    first_sent_id: int | None  # the oldest history message that was sent
    tokenize_calls: int = 0
    passages: tuple[Passage, ...] = ()  # from the assistant's knowledge, numbered as the model sees them


def prompt_budget(assistant: Assistant, context_tokens: int) -> int:
    """The most tokens a prompt may have: the assistant's budget, or what the
    model's context leaves after the answer's room, whichever is smaller."""
    room = assistant.max_tokens or DEFAULT_ANSWER_ROOM
    # A context smaller than twice the answer's room still takes a prompt; the
    # server then ends the answer at the context's end (TRUNCATED_FINAL).
    room = min(room, context_tokens // 2)
    own = assistant.prompt_token_budget or DEFAULT_PROMPT_TOKEN_BUDGET
    return max(1, min(own, context_tokens - room))


def history_of(messages: Sequence[Message]) -> list[Message]:
    return [
        m
        for m in messages
        if m.role in ("user", "assistant") and (m.text.strip() or m.part_count) and m.status not in _SKIPPED
    ]


def history_messages(messages: Sequence[Message]) -> list[PromptMessage]:
    return prompt_messages(history_of(messages))


def prompt_messages(messages: Sequence[Message]) -> list[PromptMessage]:
    return [pm for m in messages for pm in _prompt_messages(m)]


def _prompt_messages(m: Message) -> list[PromptMessage]:
    """A message as the model is sent it: an answer that called tools is its rounds, each
    call and result sent again as a call and a result (never flattened to text); its
    reasoning and notices are not sent."""
    if not m.parts:
        return [{"role": m.role, "text": m.text}]
    out: list[PromptMessage] = []
    text = ""
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for part in m.parts:
        if is_hosted(part.server):
            continue  # a web search or remote MCP call Yandex ran: its effect is in the text
        if part.kind is PartKind.TEXT:
            if results:
                out += _round(text, calls, results)
                text, calls, results = "", [], []
            text = part.text if not text else text + "\n\n" + part.text
        elif part.kind is PartKind.TOOL_CALL:
            if results:
                out += _round(text, calls, results)
                text, calls, results = "", [], []
            calls.append({"id": part.call_id, "name": part.tool, "arguments": _object(part.arguments)})
        elif part.kind is PartKind.TOOL_RESULT:
            results.append({"id": part.call_id, "name": part.tool, "content": part.text})
    answered = {r["id"] for r in results}
    if calls and answered:
        # A call with no result (the answer stopped before it ran) is not sent: the API
        # takes no call without its result.
        out += _round(text, [c for c in calls if c["id"] in answered], results)
        text = ""
    if text.strip():
        out.append({"role": "assistant", "text": text})
    return out


def _round(text: str, calls: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[PromptMessage]:
    return [
        {"role": "assistant", "text": text, "tool_calls": calls},
        {"role": "tool", "tool_results": results},
    ]


def _object(arguments: str | None) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def message_size(m: PromptMessage) -> int:
    """Bytes of UTF-8 a prompt message holds: its text, or all of a tool round's JSON."""
    if "tool_calls" in m or "tool_results" in m:
        return len(json.dumps(m, ensure_ascii=False).encode("utf-8"))
    return len(m["text"].encode("utf-8"))


class MessageCounts:
    """Tokens of each message alone, for one model: remembered in memory and
    in the store (through `save`), counted with one tokenize call each otherwise."""

    def __init__(self, model: str, count: TokenCounter) -> None:
        self.model = model
        self.count = count
        self.calls = 0
        self._known: dict[tuple[str, int], int] = {}  # (role + text) hash -> tokens
        self.new: dict[int, int] = {}  # message id -> tokens, counted now, for the store
        # The framing a count alone repeats per message, learned from the last fitted prompt.
        self.shared = 0.0

    def _key(self, role: str, text: str) -> tuple[str, int]:
        return role, hash(text)

    def _message_key(self, m: Message) -> tuple[str, int]:
        return self._key(m.role, m.text) if not m.parts else (m.role, hash((m.text, m.parts)))

    def known(self, m: Message) -> int | None:
        key = self._message_key(m)
        found = self._known.get(key)
        if found is None and m.token_count is not None and m.token_model == self.model:
            found = self._known[key] = m.token_count
        return found

    async def of_message(self, m: Message) -> int:
        if not m.parts:
            return await self.of_text(m.role, m.text)
        key = self._message_key(m)
        if key not in self._known:
            self.calls += 1
            self._known[key] = await self.count(_prompt_messages(m))
        return self._known[key]

    async def of_text(self, role: str, text: str) -> int:
        key = self._key(role, text)
        if key not in self._known:
            self.calls += 1
            self._known[key] = await self.count([{"role": role, "text": text}])
        return self._known[key]

    async def fill(self, messages: Sequence[Message]) -> None:
        """Count the messages not yet known, a few calls at once."""
        missing = [m for m in messages if self.known(m) is None]
        limiter = anyio.Semaphore(COUNT_CONCURRENCY)

        async def one(m: Message) -> None:
            async with limiter:
                self.new[m.id] = await self.of_message(m)

        async with anyio.create_task_group() as tg:
            for m in missing:
                tg.start_soon(one, m)

    def of(self, m: Message) -> int:
        found = self.known(m)
        assert found is not None, "fill() first"
        return found

    async def whole(self, messages: list[PromptMessage]) -> int:
        self.calls += 1
        return await self.count(messages)


async def build_prompt(
    assistant: Assistant,
    messages: Sequence[Message],
    counts: MessageCounts | None = None,
    budget: int | None = None,
    passages: Sequence[Passage] = (),
    count_later: bool = False,
) -> FittedPrompt:
    """The prompt for the next answer: the instruction and the newest message
    always; passages from the assistant's knowledge within their share of `budget`,
    then older messages while they fit the rest (not fitted without `counts`).

    With `count_later`, a prompt whose upper bound (`tokens_at_most`) fits the
    budget is not tokenized: it is sent whole either way, and the caller may count
    it while the answer streams instead of before (a round trip to the tokenizer)."""
    history = history_of(messages)
    omitted = 0
    if assistant.keep_last_messages and len(history) > assistant.keep_last_messages:
        omitted = len(history) - assistant.keep_last_messages
        history = history[omitted:]
    if counts is None or budget is None or not history:
        given = tuple(numbered(passages))
        return FittedPrompt(
            _system(assistant.instruction, given) + prompt_messages(history),
            tokens=None,
            budget=budget,
            omitted=omitted,
            first_sent_id=history[0].id if history else None,
            passages=given,
        )
    calls_before = counts.calls
    given = tuple(await _passages_within(passages, int(budget * KNOWLEDGE_SHARE), counts))
    system = _system(assistant.instruction, given)
    try:
        kept, tokens = await _fit(system, history, budget, counts, count_later)
    except PromptTooLong:
        if not given:
            raise
        # The question alone leaves no room for passages: it is answered without them.
        given, system = (), _system(assistant.instruction, ())
        kept, tokens = await _fit(system, history, budget, counts)
    dropped = len(history) - len(kept)
    return FittedPrompt(
        system + prompt_messages(kept),
        tokens=tokens,
        budget=budget,
        omitted=omitted + dropped,
        first_sent_id=kept[0].id,
        tokenize_calls=counts.calls - calls_before,
        passages=given,
    )


def _system(instruction: str, passages: Sequence[Passage]) -> list[PromptMessage]:
    text = with_knowledge(instruction, passages)
    return [{"role": "system", "text": text}] if text else []


async def _passages_within(passages: Sequence[Passage], share: int, counts: MessageCounts) -> list[Passage]:
    """The best passages whose tokens fit `share`, in rank order (a long one that does not fit
    makes way for shorter ones below it), numbered as the model will see them."""
    if not passages:
        return []
    sizes: dict[int, int] = {}
    limiter = anyio.Semaphore(COUNT_CONCURRENCY)

    async def one(index: int, passage: Passage) -> None:
        async with limiter:
            sizes[index] = await counts.of_text("system", passage_text(passage))

    async with anyio.create_task_group() as tg:
        for index, passage in enumerate(numbered(passages)):
            tg.start_soon(one, index, passage)
    # The instruction to cite comes with them and counts against their share.
    chosen, used = [], await counts.of_text("system", CITE)
    for index, passage in enumerate(passages):
        if used + sizes[index] <= share:
            chosen.append(passage)
            used += sizes[index]
    return numbered(chosen)


async def _fit(
    system: list[PromptMessage],
    history: list[Message],
    budget: int,
    counts: MessageCounts,
    count_later: bool = False,
) -> tuple[list[Message], int | None]:
    """The newest messages that fit `budget`, and the tokens of the prompt they make
    (None with `count_later`, when they surely fit without counting)."""
    if count_later and tokens_at_most(system + prompt_messages(history)) <= budget:
        return history, None
    if sum(len(m["text"]) for m in system) + sum(len(m.text) + 200 * m.part_count for m in history) <= budget:
        # Short enough that it very likely fits whole (a token is rarely under a
        # character): one call says so, and no message is counted alone.
        tokens = await counts.whole(system + prompt_messages(history))
        if tokens <= budget:
            return history, tokens
    system_tokens = await counts.of_text("system", system[0]["text"]) if system else 0

    async def cut(shared: float) -> int:
        """Index of the oldest message to keep by the counts, `shared` tokens of
        framing taken off each piece after the first (counting messages as needed)."""
        used = system_tokens if system else shared
        start = len(history)
        # Count in windows from the newest back: a long thread counts only what may fit.
        while start > 0:
            window = history[max(0, start - COUNT_CONCURRENCY) : start]
            await counts.fill(window)
            for m in reversed(window):
                cost = counts.of(m) - shared
                if start < len(history) and used + cost > budget:
                    return start
                used += cost
                start -= 1
        return start

    # Until the framing is measured, the cut counts it with every message,
    # which can only leave out too much, never too little.
    start = await cut(counts.shared)
    may_widen = True
    while True:
        kept = history[start:]
        tokens = await counts.whole(system + prompt_messages(kept))
        if tokens > budget:
            if len(kept) == 1:
                raise PromptTooLong(tokens, budget)
            # Drop the oldest kept messages until their counts cover the excess.
            excess, drop = float(tokens - budget), 0
            while drop < len(kept) - 1 and excess > 0:
                excess -= counts.of(kept[drop]) - counts.shared
                drop += 1
            start += max(1, drop)
            may_widen = False
            continue
        if start == 0 or not may_widen:
            return kept, tokens
        # It fits with messages left out: measure the framing the counts repeat,
        # and take back the older messages that fit once it is counted once.
        may_widen = False
        pieces = len(kept) + (1 if system else 0)
        estimate = system_tokens + sum(counts.of(m) for m in kept)
        shared = counts.shared = max(0.0, (estimate - tokens) / max(1, pieces - 1))
        wider = await cut(shared)
        if wider >= start:
            return kept, tokens
        start = wider


def tokens_at_most(messages: Sequence[PromptMessage]) -> int:
    """More tokens than any tokenizer we know makes of `messages` (see FRAMING_PER_MESSAGE_AT_MOST)."""
    return FRAMING_PER_PROMPT_AT_MOST + sum(message_size(m) + FRAMING_PER_MESSAGE_AT_MOST for m in messages)


async def estimate_tokens(messages: list[PromptMessage]) -> int:
    """A prompt's tokens where no tokenizer is offered (models served only over the chat API).

    One token per three bytes of UTF-8 plus each message's framing: above what the
    tokenizers of the models in the catalogue count for Russian and English text.
    """
    return sum(message_size(m) // 3 + 4 for m in messages) + 2
