"""One streamed generation: from SDK results to RunUpdates and stored rows.

The answer is stored as it grows (throttled), so a crash leaves the partial
text behind for the next start to mark `interrupted`; a cancel or an error
keeps what arrived.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import anyio

from yachat.core.assembler import StreamAssembler
from yachat.core.errors import StreamIdleTimeout, explain
from yachat.core.sdk import retry_reporter
from yachat.core.store_writes import write, write_later
from yachat.core.transport import DONE_STATUSES, StreamChunk
from yachat.core.updates import RunUpdate, UpdateKind, UpdateSink, Usage
from yachat.store import Store
from yachat.store.models import MessageStatus, RunStatus

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 0.25


@dataclass
class RunContext:
    store: Store
    thread_id: int
    run_id: int
    message_id: int
    on_update: UpdateSink
    idle_timeout_s: float
    backend_kind: str
    answered_by: str | None = None  # what answers, when it is not the run's model URI


class RunStreamer:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.assembler = StreamAssembler()
        self.reasoning = ""
        self.usage: Usage | None = None
        self.model_version: str | None = None
        self.started = time.monotonic()
        self.first_chunk_at: float | None = None
        self.last_persist = 0.0
        self._persisting: Future[None] | None = None  # the partial answer's write, queued
        self.final_status: str | None = None

    def emit(self, kind: UpdateKind, **fields: Any) -> RunUpdate:
        update = RunUpdate(
            kind=kind,
            thread_id=self.ctx.thread_id,
            run_id=self.ctx.run_id,
            message_id=self.ctx.message_id,
            **fields,
        )
        try:
            self.ctx.on_update(update)
        except Exception:  # a front end's bug must not lose the answer
            log.exception("update sink failed on %s", kind)
        return update

    async def consume(self, results: AsyncIterator[StreamChunk]) -> RunUpdate:
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

    def notice(self, text: str) -> None:
        self.emit(UpdateKind.NOTICE, text=text)

    async def consume_cancelled(self) -> RunUpdate:
        return await self._finish(RunStatus.CANCELLED)

    async def fail(self, exc: BaseException) -> RunUpdate:
        return await self._finish(RunStatus.FAILED, error=explain(exc, backend_kind=self.ctx.backend_kind))

    def _apply(self, chunk: StreamChunk) -> None:
        now = time.monotonic()
        if self.first_chunk_at is None:
            self.first_chunk_at = now
        if len(chunk.reasoning) > len(self.reasoning):
            # Reasoning only grows, and comes before the answer.
            self.emit(UpdateKind.REASONING, text=chunk.reasoning[len(self.reasoning) :])
            self.reasoning = chunk.reasoning
        change = self.assembler.feed(chunk.text)
        if change is not None:
            kind = UpdateKind.REPLACE if change.replace else UpdateKind.APPEND
            self.emit(kind, text=change.text)
        self.usage = chunk.usage or self.usage
        self.model_version = chunk.model_version or self.model_version
        self.final_status = chunk.status or self.final_status
        if now - self.last_persist >= PERSIST_EVERY_S and (
            self._persisting is None or self._persisting.done()
        ):
            # Queued, not waited for: while another process holds the store's write
            # lock the answer goes on streaming; the final write waits its turn.
            self.last_persist = now
            self._persisting = write_later(
                self.ctx.store.update_message,
                self.ctx.message_id,
                text=self.assembler.text,
                reasoning=self.reasoning or None,
            )

    async def _finish(self, status: RunStatus, error: str | None = None) -> RunUpdate:
        if status is RunStatus.COMPLETED and self.final_status not in DONE_STATUSES:
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
        await write(
            self._store_final,
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
        return self.emit(
            UpdateKind.FINISHED,
            text=self.assembler.text,
            usage=usage,
            status=status,
            error=error,
            model_version=self.model_version,
            first_chunk_s=first_chunk_s,
            tokens_per_s=tokens_per_s,
            truncated=truncated,
            answered_by=answered_by,
            reasoning=self.reasoning,
        )

    def _store_final(self, message_status: MessageStatus, status: RunStatus, **run_fields: Any) -> None:
        store = self.ctx.store
        store.update_message(
            self.ctx.message_id,
            text=self.assembler.text,
            status=message_status,
            reasoning=self.reasoning or None,
        )
        store.finish_run(self.ctx.run_id, status, **run_fields)

    def _tokens_per_s(self) -> float | None:
        if self.usage is None or self.first_chunk_at is None:
            return None
        elapsed = time.monotonic() - self.first_chunk_at
        if elapsed <= 0 or self.usage.completion_tokens <= 1:
            return None
        return round(self.usage.completion_tokens / elapsed, 1)


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
