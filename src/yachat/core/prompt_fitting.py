"""The thread fitted to the model: as much history as its budget holds, newest kept,
with the passages of knowledge it asks for. A long thread is read a page at a
time from the newest, and each message is counted once per model.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

import anyio

from yachat.core.events import RunFinished
from yachat.core.model_catalog import transport_for
from yachat.core.model_choice import ModelChoice
from yachat.core.prompt import (
    SKIPPED_STATUSES,
    FittedPrompt,
    MessageCounts,
    PromptMessage,
    build_prompt,
    estimate_tokens,
    history_of,
    prompt_budget,
)
from yachat.core.retrieval import Retrieval
from yachat.core.session import ModelSession
from yachat.core.store_writes import write
from yachat.core.tools.wire import sdk_messages
from yachat.core.transport import Transport, model_object
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.models import Assistant, Message, RunStatus

log = logging.getLogger(__name__)

# A prompt reads the thread this many messages at a time, newest first.
PROMPT_PAGE = 200
# Fewer tokens than characters / this, a message never has (a floor, to stop reading).
CHARS_PER_TOKEN_AT_MOST = 16
# How long a finished answer waits for the count of its prompt, made while it streamed.
COUNT_GRACE_S = 10.0


class PromptFitter:
    def __init__(self, settings: Settings, store: Store, session: ModelSession, retrieval: Retrieval) -> None:
        self.settings = settings
        self.store = store
        self.session = session
        self.retrieval = retrieval
        self._counts: dict[str, MessageCounts] = {}  # per model: tokens of each message alone

    async def fit(
        self, assistant: Assistant, model: ModelChoice, thread_id: int, answer_id: int
    ) -> FittedPrompt:
        """The thread fitted to the prompt budget, each message counted once per model."""
        counts = self.counts(model)
        budget = prompt_budget(assistant, model.context_tokens)
        history, unread = self._history(assistant, thread_id, answer_id, counts, budget)
        passages = await self.retrieval.passages_for(assistant, history)
        try:
            fitted = await build_prompt(
                assistant, history, counts, budget, passages=passages, count_later=True
            )
            if unread:
                fitted = dataclasses.replace(fitted, omitted=fitted.omitted + unread)
        finally:
            new, counts.new = counts.new, {}
            if new:  # most sends count nothing new: no round trip to the writer thread then
                await write(self.store.set_token_counts, counts.model, new)
        log.info(
            "prompt: %s tokens of %s, %d messages left out, %d tokenize calls",
            fitted.tokens,
            fitted.budget,
            fitted.omitted,
            fitted.tokenize_calls,
        )
        return fitted

    async def count_meanwhile(
        self,
        model: ModelChoice,
        run_id: int,
        fitted: FittedPrompt,
        answer: Callable[[], Awaitable[RunFinished]],
    ) -> RunFinished:
        """Stream the answer to a prompt that was sure to fit its budget uncounted, and
        count it meanwhile: the run still records what the prompt held, and the answer
        did not wait for the tokenizer's round trip (measured: 15-40 ms before the
        first delta of a fresh session's first answer)."""

        async def count() -> None:
            tokens = None
            with anyio.move_on_after(self.settings.request_timeout_s):
                try:
                    tokens = await self.counts(model).whole(fitted.messages)
                except Exception as exc:  # the count is a record: the answer does not depend on it
                    log.info("could not count the prompt of run %s: %r", run_id, exc)
            if tokens is None:
                return
            if fitted.budget is not None and tokens > fitted.budget:
                log.warning("run %s: a prompt of %s tokens went over its budget", run_id, tokens)
            await write(
                self.store.record_prompt,
                run_id,
                prompt_tokens=tokens,
                prompt_budget=fitted.budget,
                omitted_messages=fitted.omitted,
                first_sent_message_id=fitted.first_sent_id,
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(count)
            final = await answer()
            # A server that answered tokenizes promptly; one that did not would only be waited
            # for a second time (an unreachable endpoint's timeout, twice).
            grace = COUNT_GRACE_S if final.status is RunStatus.COMPLETED else 0.0
            tg.cancel_scope.deadline = anyio.current_time() + grace
        return final

    def _history(
        self, assistant: Assistant, thread_id: int, answer_id: int, counts: MessageCounts, budget: int
    ) -> tuple[list[Message], int]:
        """The newest messages the prompt can hold, oldest first, and how many older
        history messages were left unread: a long thread is read a page at a time
        from the newest, until what was read surely overflows the budget (by the
        stored token counts, else a character count that undercounts tokens)."""
        self.store.settle_dead_runs(thread_id)
        keep = assistant.keep_last_messages or 0
        history: list[Message] = []
        floor = 0  # tokens the messages read hold at the least
        before: int | None = None
        while True:
            # Tool calls and results are re-sent as such: an answer with parts carries them.
            page = self.store.with_parts(self.store.message_page(thread_id, PROMPT_PAGE, before))
            history[:0] = [m for m in page if m.id != answer_id]
            floor += sum(counts.known(m) or len(m.text) // CHARS_PER_TOKEN_AT_MOST for m in page)
            if len(page) < PROMPT_PAGE:
                return history, 0
            before = page[0].id
            if floor > budget or (keep and len(history_of(history)) > keep):
                skipped = tuple(str(s) for s in SKIPPED_STATUSES)
                return history, self.store.count_history(thread_id, before, skipped)

    def counts(self, model: ModelChoice) -> MessageCounts:
        """Tokens of messages as `model` counts them, each message counted once."""
        backend = self.session.backend
        if model.local and backend is not None:
            # The local server's tokenizer is its model's, whatever name the request carries.
            key = f"local:{backend.model_name or backend.description}"
        else:
            key = model.uri
        counts = self._counts.get(key)
        if counts is None:
            if model.local or transport_for(model.uri) is Transport.GRPC:

                async def count(messages: list[PromptMessage]) -> int:
                    # TokenizeCompletion is gRPC's; the chat API has no tokenizer.
                    grpc = model_object(self.session.sdk, Transport.GRPC, model.name, model.version)
                    return len(await grpc.tokenize(sdk_messages(Transport.GRPC, messages)))

            else:
                count = estimate_tokens
            counts = self._counts[key] = MessageCounts(key, count)
        return counts
