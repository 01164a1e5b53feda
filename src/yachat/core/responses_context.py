"""A thread's context over the Responses API: chain on the last response, or send it all.

yachat's store stays the truth. Each answer over `responses` records the response it
ended with (store V7: where it lives, the assistant it was made with, how much of the
thread it covered). The next answer of the thread sends only the messages since then,
with `previous_response_id`, when all of these hold:

- the thread's last run recorded that response (not a failed, cancelled or regenerated
  answer, nor one over another transport) and no message up to it was deleted;
- the request goes to the same API base and folder (`endpoint_key`);
- the assistant's model, instruction and tools are those the response was made with;
- the chain, with what is new, still fits the prompt budget (the server keeps every
  turn of a chain: past the budget it is started again from the fitted history).

Otherwise, and when the server no longer knows the response (expired after 30 days,
deleted: `ResponsesRounds` retries once), it sends the whole fitted history, as the
other transports do, and that response starts the next chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from yachat.core.backend import Backend
from yachat.core.events import RunFinished
from yachat.core.model_choice import ModelChoice
from yachat.core.prompt import FittedPrompt, prompt_messages
from yachat.core.responses_client import endpoint_key, responses_base_url, responses_client
from yachat.core.responses_stream import ChainPlan, ResponsesRounds, ResponsesSide
from yachat.core.responses_wire import (
    fingerprint,
    function_tools,
    hosted_tools,
    input_items,
    model_uri,
    split_prompt,
)
from yachat.core.run_stream import RunStreamer
from yachat.core.session import ModelSession
from yachat.core.store_writes import write
from yachat.core.tools.spec import ToolSpec
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.models import Assistant, MessageStatus, RunStatus

log = logging.getLogger(__name__)

# Messages since the stored response, read at most: a thread that grew more than this
# since its last answer over `responses` is sent whole.
NEW_MESSAGES_AT_MOST = 50


class ResponsesAnswer:
    """One answer's rounds over the Responses API, and its record once it completes."""

    def __init__(
        self, rounds: ResponsesRounds, store: Store, run_id: int, answer_id: int, endpoint: str, print_: str
    ) -> None:
        self.rounds = rounds
        self._store = store
        self._run_id, self._answer_id = run_id, answer_id
        self._endpoint, self._fingerprint = endpoint, print_

    async def finished(self, final: RunFinished) -> None:
        response_id = self.rounds.response_id
        # An answer the loop stopped (its last response asked for calls no one answered) or
        # the content filter cut is not a point to go on from.
        if final.status is not RunStatus.COMPLETED or final.error or not response_id:
            return
        await write(
            self._store.record_response,
            self._run_id,
            response_id=response_id,
            endpoint=self._endpoint,
            fingerprint=self._fingerprint,
            answer_id=self._answer_id,
            context_tokens=self.rounds.context_tokens,
        )


async def responses_answer(
    *,
    settings: Settings,
    store: Store,
    session: ModelSession,
    backend: Backend,
    assistant: Assistant,
    model: ModelChoice,
    fitted: FittedPrompt,
    tools: Sequence[ToolSpec],
    streamer: RunStreamer,
) -> ResponsesAnswer:
    client = await responses_client(session)
    instructions, full_items = split_prompt(fitted.messages)
    offered = function_tools(tools) + hosted_tools(assistant, settings.web_search)
    copy = await write(store.cloud_copy, assistant.id)
    here = responses_base_url(settings, backend)
    if copy is not None and copy.pushed_at and copy.lives_at(here, backend.folder_id):
        # The knowledge `kb push` copied here: Yandex takes one store per request.
        offered.append({"type": "file_search", "vector_store_ids": [copy.vector_store_id]})
    else:
        copy = None
    body: dict[str, Any] = {"model": model_uri(backend.folder_id, model.name, model.version)}
    if instructions:
        body["instructions"] = instructions
    if offered:
        body["tools"] = offered
        if not settings.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if assistant.temperature is not None:
        body["temperature"] = assistant.temperature
    if assistant.max_tokens is not None:
        body["max_output_tokens"] = assistant.max_tokens
    if model.reasoning_mode:
        body["reasoning"] = {"effort": model.reasoning_mode}
    endpoint = endpoint_key(settings, backend)
    print_ = fingerprint(body["model"], assistant.instruction, offered)
    ctx = streamer.ctx
    plan = await write(
        chain_plan,
        store,
        ctx.thread_id,
        ctx.run_id,
        ctx.message_id,
        full_items,
        endpoint,
        print_,
        fitted.budget,
    )
    log.info("responses: %s", plan.reason)
    rounds = ResponsesRounds(
        client,
        body=body,
        plan=plan,
        side=ResponsesSide(streamer, fitted.passages, copy.path_of if copy is not None else None),
        backend_kind=backend.kind,
    )
    return ResponsesAnswer(rounds, store, ctx.run_id, ctx.message_id, endpoint, print_)


def chain_plan(
    store: Store,
    thread_id: int,
    run_id: int,
    answer_id: int,
    full_items: list[dict[str, Any]],
    endpoint: str,
    print_: str,
    budget: int | None,
) -> ChainPlan:
    """What the answer's first request sends (read on the writer thread, in order with the
    run's own rows)."""

    def whole(reason: str) -> ChainPlan:
        return ChainPlan(full_items, None, full_items, f"the whole history: {reason}")

    point = store.chain_point(thread_id, run_id)
    if point is None:
        return whole("no response to chain on")
    if point.endpoint != endpoint:
        return whole("the last response is at another endpoint or folder")
    if point.fingerprint != print_:
        return whole("the assistant's model, instruction or tools changed")
    page = store.message_page(thread_id, NEW_MESSAGES_AT_MOST + 1)
    if not page or page[0].id > point.answer_id:
        return whole("too much is new since the last response")
    new = [
        m
        for m in page
        if m.id > point.answer_id and m.id != answer_id and m.status != MessageStatus.STREAMING
    ]
    items = input_items(prompt_messages(store.with_parts(new)))
    if not items:
        return whole("nothing new to send")
    if budget is not None and point.context_tokens is not None:
        more = sum(estimate_tokens_of(item) for item in items)
        if point.context_tokens + more > budget:
            return whole("the chain would pass the prompt budget")
    return ChainPlan(
        items, point.response_id, full_items, f"chained on {point.response_id}, {len(items)} new items"
    )


def estimate_tokens_of(item: dict[str, Any]) -> int:
    """Tokens at most, without a tokenizer: one per three bytes of UTF-8 (as `prompt.estimate_tokens`)."""
    text = str(item.get("content") or item.get("output") or item.get("arguments") or "")
    return len(text.encode()) // 3 + 4
