"""One answer: from SDK results to events and stored rows, round by round.

An answer with tools is several model requests (rounds): each round's text,
reasoning and calls become the answer's parts, in order, and the tool loop's
results follow its calls. The answer is stored as it grows (throttled), so a
crash leaves the partial text and parts behind for the next start to mark
`interrupted`; a cancel or an error keeps what arrived.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from yachat.core.assembler import StreamAssembler
from yachat.core.errors import StreamIdleTimeout, explain
from yachat.core.events import (
    EventSink,
    Notice,
    ReasoningDelta,
    RunEvent,
    RunFinished,
    TextDelta,
    TextReplaced,
    ToolArgumentsDelta,
    ToolAwaitingApproval,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
    Usage,
)
from yachat.core.sdk import retry_reporter
from yachat.core.store_writes import write, write_later
from yachat.core.tools.loop import Call, CallReporter
from yachat.core.transport import DONE_STATUSES, StreamChunk, ToolCallChunk
from yachat.store import Store
from yachat.store.models import MessageStatus, Part, PartKind, RunStatus, ToolStatus

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 0.25
ROUND_SEPARATOR = "\n\n"  # between the texts of an answer's rounds


@dataclass
class RunContext:
    store: Store
    thread_id: int
    run_id: int
    message_id: int
    on_event: EventSink
    idle_timeout_s: float
    backend_kind: str
    answered_by: str | None = None  # what answers, when it is not the run's model URI
    tool_servers: dict[str, str] = field(default_factory=dict)  # a tool's name -> its server


class RunStreamer(CallReporter):
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.ids = (ctx.thread_id, ctx.run_id, ctx.message_id)  # what every event names, made once
        self.assembler = StreamAssembler()  # this round's text
        self.text_before = ""  # the text of the rounds before, joined
        self.reasoning = ""  # this round's reasoning
        self.reasoning_before = ""
        self.parts: list[Part] = []  # the rounds before, then the calls' results, in order
        self.round_calls: list[Part] = []  # this round's calls, as they stream
        self.call_ids: dict[int, str] = {}  # this round: a call's index -> its id in the answer
        self.round_text = ""  # the text of the round that ended last, said beside its calls
        self.call_count = 0
        self.kept_parts = False  # the answer has parts beyond its text and reasoning
        self.usage_before: Usage | None = None  # the rounds before
        self.round_usage: Usage | None = None
        self.model_version: str | None = None
        self.started = time.monotonic()
        self.first_chunk_at: float | None = None
        self.last_persist = 0.0
        self._persisting: Future[None] | None = None  # the partial answer's write, queued
        self.final_status: str | None = None

    def emit(self, event: RunEvent) -> RunEvent:
        try:
            self.ctx.on_event(event)
        except Exception:  # a front end's bug must not lose the answer
            log.exception("event sink failed on %s", type(event).__name__)
        return event

    @property
    def text(self) -> str:
        """The whole answer so far, every round's text."""
        current = self.assembler.text
        if not self.text_before:
            return current
        return self.text_before + ROUND_SEPARATOR + current if current else self.text_before

    @property
    def usage(self) -> Usage | None:
        """An answer's usage over its rounds: each round's request and answer count."""
        return _added(self.usage_before, self.round_usage)

    @property
    def all_reasoning(self) -> str:
        if not self.reasoning_before:
            return self.reasoning
        return (
            self.reasoning_before + ROUND_SEPARATOR + self.reasoning
            if self.reasoning
            else self.reasoning_before
        )

    async def consume(self, results: AsyncIterator[StreamChunk]) -> RunFinished | list[Call]:
        """One round: the model's answer to one request. Ends the run (its RunFinished)
        unless the model called tools: then this round's calls, for the tool loop."""
        cancelled_exc = anyio.get_cancelled_exc_class()

        # One scope for the whole stream, its deadline pushed on as chunks arrive. At
        # firehose rates a new scope, or even a new deadline, per chunk costs more than
        # the chunk itself, so the deadline moves at most every `step` seconds and
        # carries `step` of slack: silence fails after between `timeout` and
        # `timeout + step` seconds, never sooner.
        timeout = self.ctx.idle_timeout_s
        step = min(1.0, timeout / 10)
        pushed_at = time.monotonic()
        idle_scope = anyio.CancelScope(deadline=anyio.current_time() + timeout + step)
        self.final_status = None

        # Closed when the stream ends: every task or timer started while it runs copies
        # the context, and a live callback there kept this streamer, the front end's
        # run and its whole live answer alive long after (measured: in a long session,
        # about half the answers, every rendered line of them).
        report_retry = _RetryReport(self, idle_scope, timeout)
        token = retry_reporter.set(report_retry)
        iterator = results.__aiter__()
        try:
            with idle_scope:
                while True:
                    try:
                        result = await iterator.__anext__()
                    except StopAsyncIteration:
                        break
                    self._apply(result)
                    # time.monotonic is a C call; anyio's clock, asked only when due,
                    # finds the running backend first.
                    if time.monotonic() - pushed_at >= step:
                        pushed_at = time.monotonic()
                        idle_scope.deadline = anyio.current_time() + timeout + step
            if idle_scope.cancelled_caught:
                raise StreamIdleTimeout(timeout)
            if self.final_status == "TOOL_CALLS" and self.round_calls:
                return self._end_round()
            return await self._finish(RunStatus.COMPLETED)
        except cancelled_exc:
            with anyio.CancelScope(shield=True):
                await self._finish(RunStatus.CANCELLED)
                await _close(iterator)
            raise
        except Exception as exc:
            log.info("run %s failed: %r", self.ctx.run_id, exc)
            with anyio.CancelScope(shield=True):
                await _close(iterator)
            return await self._finish(
                RunStatus.FAILED, error=explain(exc, backend_kind=self.ctx.backend_kind)
            )
        finally:
            retry_reporter.reset(token)
            report_retry.close()

    def notice(self, text: str, kept: bool = False) -> None:
        if kept:
            self.parts.append(Part(PartKind.NOTICE, text))
            self.kept_parts = True
        self.emit(Notice(*self.ids, text=text, kept=kept))

    async def consume_cancelled(self) -> RunFinished:
        return await self._finish(RunStatus.CANCELLED)

    async def fail(self, exc: BaseException) -> RunFinished:
        return await self._finish(RunStatus.FAILED, error=explain(exc, backend_kind=self.ctx.backend_kind))

    async def stop(self, error: str) -> RunFinished:
        """The tool loop stopped the answer (a cap, a repeated call): done, with why."""
        return await self._finish(RunStatus.COMPLETED, error=error, stopped=True)

    def _apply(self, chunk: StreamChunk) -> None:
        now = time.monotonic()
        if self.first_chunk_at is None:
            self.first_chunk_at = now
        if len(chunk.reasoning) > len(self.reasoning):
            # Reasoning only grows, and comes before the answer.
            suffix = chunk.reasoning[len(self.reasoning) :]
            if not self.reasoning and self.reasoning_before:
                suffix = ROUND_SEPARATOR + suffix
            self.emit(ReasoningDelta(*self.ids, text=suffix))
            self.reasoning = chunk.reasoning
        change = self.assembler.feed(chunk.text)
        if change is not None:
            if change.replace:
                self.emit(TextReplaced(*self.ids, text=self.text))
            else:
                suffix = change.text
                if self.text_before and len(self.assembler.text) == len(suffix):
                    suffix = ROUND_SEPARATOR + suffix  # this round's first text
                self.emit(TextDelta(*self.ids, text=suffix))
        if chunk.tool_calls:
            self._calls(chunk.tool_calls)
        self.round_usage = chunk.usage or self.round_usage
        self.model_version = chunk.model_version or self.model_version
        self.final_status = chunk.status or self.final_status
        if now - self.last_persist >= PERSIST_EVERY_S and (
            self._persisting is None or self._persisting.done()
        ):
            # Queued, not waited for: while another process holds the store's write
            # lock the answer goes on streaming; the final write waits its turn.
            self.last_persist = now
            self._persist()

    def _persist(self) -> None:
        self._persisting = write_later(
            self._store_partial,
            self.text,
            self.all_reasoning or None,
            self._parts_now() if self.kept_parts else None,
        )

    def _store_partial(self, text: str, reasoning: str | None, parts: list[Part] | None) -> None:
        store = self.ctx.store
        store.update_message(self.ctx.message_id, text=text, reasoning=reasoning)
        if parts is not None:
            store.save_parts(self.ctx.message_id, parts)

    # -- tool calls --------------------------------------------------------------

    def _calls(self, calls: tuple[ToolCallChunk, ...]) -> None:
        ids = self.ids
        for chunk in calls:
            call_id = self.call_ids.get(chunk.index)
            if call_id is None:
                call_id = self._new_call_id(chunk.call_id)
                self.call_ids[chunk.index] = call_id
                server = self.ctx.tool_servers.get(chunk.name, "")
                self.round_calls.append(
                    Part(
                        PartKind.TOOL_CALL,
                        call_id=call_id,
                        tool=chunk.name,
                        server=server,
                        arguments="",
                        status=ToolStatus.STREAMING,
                    )
                )
                self.kept_parts = True
                self.emit(ToolCallStarted(*ids, call_id=call_id, tool=chunk.name, server=server))
            position = next(i for i, p in enumerate(self.round_calls) if p.call_id == call_id)
            part = self.round_calls[position]
            before = part.arguments or ""
            if len(chunk.arguments) > len(before) or chunk.name != part.tool:
                self.round_calls[position] = replace(part, arguments=chunk.arguments, tool=chunk.name)
                if chunk.arguments.startswith(before):
                    self.emit(ToolArgumentsDelta(*ids, call_id=call_id, text=chunk.arguments[len(before) :]))

    def _new_call_id(self, wire_id: str) -> str:
        """Unique within the answer: gRPC's made-up ids (call_0, …) come again each round."""
        taken = {p.call_id for p in self.parts} | {p.call_id for p in self.round_calls}
        call_id, n = wire_id or f"call_{self.call_count}", 1
        while call_id in taken:
            n += 1
            call_id = f"{wire_id}_{n}"
        self.call_count += 1
        return call_id

    def _end_round(self) -> list[Call]:
        """This round's text, reasoning and calls become parts; the calls go to the loop."""
        if self.reasoning:
            self.parts.append(Part(PartKind.REASONING, self.reasoning))
        self.round_text = self.assembler.text
        if self.round_text:
            self.parts.append(Part(PartKind.TEXT, self.round_text))
        calls = []
        for part in self.round_calls:
            self.parts.append(replace(part, status=ToolStatus.AWAITING_APPROVAL))
            # The core finds each call's tool (`spec`): the streamer knows only names.
            calls.append(
                Call(
                    call_id=part.call_id or "",
                    name=part.tool or "",
                    arguments=part.arguments or "",
                    spec=None,
                )
            )
        self.usage_before, self.round_usage = self.usage, None
        self.text_before = self.text
        self.reasoning_before = self.all_reasoning
        self.assembler = StreamAssembler()
        self.reasoning = ""
        self.round_calls = []
        self.call_ids = {}
        self._persist()
        return calls

    def round_prompt(self, calls: list[Call]) -> list[dict[str, Any]]:
        """What the next request adds to the prompt: the model's calls, and their results."""
        return [
            {
                "role": "assistant",
                "text": self.round_text,
                "tool_calls": [
                    {"id": c.call_id, "name": c.name, "arguments": _arguments_object(c.arguments)}
                    for c in calls
                ],
            },
            {
                "role": "tool",
                "tool_results": [
                    {"id": c.call_id, "name": c.name, "content": c.outcome.content if c.outcome else ""}
                    for c in calls
                ],
            },
        ]

    def _set_call(self, call_id: str, **changes: Any) -> None:
        for i, part in enumerate(self.parts):
            if part.kind is PartKind.TOOL_CALL and part.call_id == call_id:
                self.parts[i] = replace(part, **changes)
                return

    # CallReporter: the tool loop's news of each call.
    def status(self, call: Call) -> None:
        self._set_call(call.call_id, status=call.status)
        if call.status is ToolStatus.AWAITING_APPROVAL:
            self.emit(
                ToolAwaitingApproval(
                    *self.ids,
                    call_id=call.call_id,
                    tool=call.name,
                    server=call.server,
                    arguments=call.arguments,
                )
            )
        self._persist()

    def running(self, call: Call, started_at: float) -> None:
        self._set_call(call.call_id, status=ToolStatus.RUNNING)
        self.emit(ToolRunning(*self.ids, call_id=call.call_id, started_at=started_at))
        self._persist()

    def finished(self, call: Call) -> None:
        outcome = call.outcome
        assert outcome is not None
        self._set_call(call.call_id, status=call.status, server=call.server or None)
        self.parts.append(
            Part(
                PartKind.TOOL_RESULT,
                outcome.content,
                call_id=call.call_id,
                tool=call.name,
                server=call.server or None,
                is_error=outcome.is_error,
                duration_s=call.duration_s,
                truncated_tokens=outcome.truncated_tokens,
            )
        )
        self.emit(
            ToolFinished(
                *self.ids,
                call_id=call.call_id,
                status=call.status,
                output=outcome.content,
                is_error=outcome.is_error,
                duration_s=call.duration_s,
                truncated_tokens=outcome.truncated_tokens,
            )
        )
        self._persist()

    # Calls the server runs itself (the Responses API's web search, remote MCP): entries of
    # the answer like the loop's calls, but already decided and run when they are told.
    def hosted_started(self, call_id: str, tool: str, server: str) -> None:
        self.parts.append(
            Part(PartKind.TOOL_CALL, call_id=call_id, tool=tool, server=server, status=ToolStatus.RUNNING)
        )
        self.kept_parts = True
        self.call_count += 1
        self.emit(ToolCallStarted(*self.ids, call_id=call_id, tool=tool, server=server))
        self.emit(ToolRunning(*self.ids, call_id=call_id, started_at=time.monotonic()))

    def hosted_finished(
        self, call_id: str, arguments: str, output: str, is_error: bool, status: ToolStatus
    ) -> None:
        call = next((p for p in self.parts if p.kind is PartKind.TOOL_CALL and p.call_id == call_id), None)
        if call is None:
            return
        if arguments:
            self.emit(ToolArgumentsDelta(*self.ids, call_id=call_id, text=arguments))
        self._set_call(call_id, status=status, arguments=arguments or None)
        self.parts.append(
            Part(
                PartKind.TOOL_RESULT,
                output,
                call_id=call_id,
                tool=call.tool,
                server=call.server,
                is_error=is_error,
            )
        )
        self.emit(ToolFinished(*self.ids, call_id=call_id, status=status, output=output, is_error=is_error))
        self._persist()

    def _parts_now(self) -> list[Part]:
        parts = list(self.parts)
        if self.reasoning:
            parts.append(Part(PartKind.REASONING, self.reasoning))
        if self.assembler.text:
            parts.append(Part(PartKind.TEXT, self.assembler.text))
        parts.extend(self.round_calls)
        return parts

    # -- the end -------------------------------------------------------------------

    async def _finish(
        self, status: RunStatus, error: str | None = None, stopped: bool = False
    ) -> RunFinished:
        if status is RunStatus.COMPLETED and not stopped and self.final_status not in DONE_STATUSES:
            status, error = (
                RunStatus.FAILED,
                "The stream ended before the answer was complete; retry.",
            )
        if status is RunStatus.COMPLETED and self.final_status == "CONTENT_FILTER":
            error = "Part of the answer was withheld by the content filter."
        message_status = {
            RunStatus.COMPLETED: MessageStatus.COMPLETE,
            RunStatus.CANCELLED: MessageStatus.CANCELLED,
            RunStatus.FAILED: MessageStatus.FAILED,
        }[status]
        truncated = status is RunStatus.COMPLETED and self.final_status == "TRUNCATED_FINAL"
        answered_by = self.ctx.answered_by
        if answered_by is None and self.ctx.backend_kind == "local":
            answered_by = self.model_version  # the local server names its model there
        first_chunk_s = self.first_chunk_at - self.started if self.first_chunk_at is not None else None
        tokens_per_s = self._tokens_per_s()
        usage = self.usage
        if status is not RunStatus.COMPLETED:
            # Calls the stop or the failure caught before they ended.
            for i, part in enumerate(self.parts):
                if part.kind is PartKind.TOOL_CALL and part.status in _UNFINISHED:
                    self.parts[i] = replace(part, status=ToolStatus.CANCELLED)
            self.round_calls = [replace(p, status=ToolStatus.CANCELLED) for p in self.round_calls]
        parts = self._parts_now() if self.kept_parts else None
        text = self.text
        reasoning = self.all_reasoning
        await write(
            self._store_final,
            text,
            reasoning,
            parts,
            message_status,
            status,
            error=error,
            input_tokens=usage.input_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            total_tokens=usage.total_tokens if usage else None,
            model_version=self.model_version,
            first_chunk_s=first_chunk_s,
            tokens_per_s=tokens_per_s,
            answered_by=answered_by,
            finish_reason=self.final_status if self.final_status in DONE_STATUSES else None,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
        )
        event = RunFinished(
            *self.ids,
            status=status,
            text=text,
            error=error,
            usage=usage,
            model_version=self.model_version,
            first_chunk_s=first_chunk_s,
            tokens_per_s=tokens_per_s,
            truncated=truncated,
            answered_by=answered_by,
            reasoning=reasoning,
            tool_calls=self.call_count,
        )
        self.emit(event)
        return event

    def _store_final(
        self,
        text: str,
        reasoning: str,
        parts: list[Part] | None,
        message_status: MessageStatus,
        status: RunStatus,
        **run_fields: Any,
    ) -> None:
        store = self.ctx.store
        store.update_message(
            self.ctx.message_id, text=text, status=message_status, reasoning=reasoning or None
        )
        if parts is not None:
            store.save_parts(self.ctx.message_id, parts)
        store.finish_run(self.ctx.run_id, status, **run_fields)

    def _tokens_per_s(self) -> float | None:
        if self.usage is None or self.first_chunk_at is None:
            return None
        elapsed = time.monotonic() - self.first_chunk_at
        if elapsed <= 0 or self.usage.completion_tokens <= 1:
            return None
        return round(self.usage.completion_tokens / elapsed, 1)


_UNFINISHED = frozenset({ToolStatus.STREAMING, ToolStatus.AWAITING_APPROVAL, ToolStatus.RUNNING})


def _added(total: Usage | None, more: Usage | None) -> Usage | None:
    if more is None or total is None:
        return more or total
    reasoning = (
        (total.reasoning_tokens or 0) + (more.reasoning_tokens or 0)
        if total.reasoning_tokens is not None or more.reasoning_tokens is not None
        else None
    )
    return Usage(
        total.input_tokens + more.input_tokens,
        total.completion_tokens + more.completion_tokens,
        total.total_tokens + more.total_tokens,
        reasoning,
    )


def _arguments_object(text: str) -> Any:
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class _RetryReport:
    """The SDK's retry callback for one stream, inert once the stream is over."""

    __slots__ = ("_scope", "_streamer", "_timeout")

    def __init__(self, streamer: RunStreamer, scope: anyio.CancelScope, timeout: float) -> None:
        self._streamer: RunStreamer | None = streamer
        self._scope: anyio.CancelScope | None = scope
        self._timeout = timeout

    def __call__(self, seconds: float, attempt: int) -> None:
        streamer, scope = self._streamer, self._scope
        if streamer is None or scope is None:
            return
        streamer.notice(f"server busy, retrying in {seconds:.0f} s (attempt {attempt + 1})")
        # Waiting out the SDK's backoff is not the stream going silent.
        scope.deadline = anyio.current_time() + seconds + self._timeout

    def close(self) -> None:
        self._streamer = self._scope = None


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        log.debug("closing the SDK stream failed", exc_info=True)
