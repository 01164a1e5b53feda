"""Runs as the TUI sees them: one worker per streaming thread, its events
applied to the pane when that thread is on screen, to the sidebar always.

The controller reaches the app through `RunHost`, a narrow protocol: the pane,
the sidebar's streaming marks, the store, notifications and the loop's timers.
Tool calls that wait for the user are answered through `decide`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from textual.css.query import NoMatches
from textual.timer import Timer
from textual.worker import Worker

from yachat.core.errors import UserFacingError, phrase_retry
from yachat.core.events import (
    ApprovalRequest,
    Decision,
    EventSink,
    Notice,
    PromptFitted,
    ReasoningDelta,
    RunEvent,
    RunFinished,
    RunStarted,
    SourcesFound,
    TextDelta,
    TextReplaced,
    ToolArgumentsDelta,
    ToolAwaitingApproval,
    ToolCallStarted,
    ToolFinished,
    ToolRunning,
)
from yachat.core.tools.loop import ToolPolicy
from yachat.store import Store, StoreError
from yachat.store.models import ToolStatus
from yachat.tui.collector import collect_removed
from yachat.tui.growing_text import GrowingText
from yachat.tui.live_answer import LiveAnswer
from yachat.tui.message_pane import MessagePane
from yachat.tui.render import RETRY_HINT
from yachat.tui.sources_view import show_sources
from yachat.tui.thinking import LiveThinking
from yachat.tui.tool_calls import ToolCallState, ToolCallView

# Starts a run: given where its events go and who answers its tool calls.
Starter = Callable[[EventSink, ToolPolicy], Awaitable[RunFinished]]


class RunHost(Protocol):
    """What the run controller needs of the app, and no more."""

    @property
    def pane(self) -> MessagePane: ...

    @property
    def store(self) -> Store: ...

    def set_streaming(self, thread_id: int, streaming: bool) -> None: ...

    def refresh_threads(self) -> None: ...

    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: Literal["information", "warning", "error"] = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...

    def ask_attention(self, message: str) -> None: ...

    def return_focus(self, widget: ToolCallView) -> None: ...

    def set_interval(self, interval: float, callback: Callable[[], Any]) -> Timer: ...

    def set_timer(self, delay: float, callback: Callable[[], Any]) -> Timer: ...

    def call_after_refresh(self, callback: Callable[..., Any], *args: Any) -> bool: ...

    def run_worker(
        self,
        work: Any,
        name: str | None = ...,
        group: str = ...,
        description: str = ...,
        exit_on_error: bool = ...,
        start: bool = ...,
        exclusive: bool = ...,
        thread: bool = ...,
    ) -> Worker[Any]: ...


# After the last answer is painted, the full collection of removed widgets waits this long.
COLLECT_AFTER_ANSWER_S = 0.05


@dataclass
class ActiveRun:
    thread_id: int
    message_id: int | None = None
    answer: GrowingText = field(default_factory=GrowingText)
    reasoning: str = ""
    live: LiveAnswer | None = field(default=None, repr=False)  # cached: no DOM query per chunk
    thinking: LiveThinking | None = field(default=None, repr=False)
    worker: Worker[None] | None = field(default=None, repr=False)
    calls: dict[str, ToolCallState] = field(default_factory=dict)  # this answer's tool calls
    views: dict[str, ToolCallView] = field(default_factory=dict, repr=False)
    finished: bool = False  # its answer is stored whole: a thread shown now reads it there


class RunController:
    # While answers stream, the collector does not start on its own (see `start`);
    # it runs at most this long apart, right after a frame, so overlapping answers
    # cannot keep it away for good. Every 2 s, its full passes over what a stream had
    # piled up took paint p99 at 100 chunks/s from 54 to 124 ms (bench `paint`); an
    # answer rarely streams this long, and each one ends with a full pass anyway.
    GC_EVERY_S = 30.0
    # And the youngest generation right after a frame, this often: a paced stream makes
    # cyclic garbage steadily (the paint bench: 225,000 objects in 6 s), and left to pile
    # up, the first pass after the answer took 300 ms, in front of the finished frame.
    # Taken a tenth of a second at a time, each pass scans a few thousand objects.
    YOUNG_EVERY_S = 0.1

    def __init__(self, app: RunHost) -> None:
        self.app = app
        self.active: dict[int, ActiveRun] = {}
        self._decisions: dict[str, asyncio.Future[Decision]] = {}  # call id -> the user's answer
        self._pane: MessagePane | None = None  # looked up once, not per chunk
        self._gc_timer: Timer | None = None
        self._young_timer: Timer | None = None

    def streaming(self, thread_id: int | None) -> bool:
        return thread_id is not None and thread_id in self.active

    def start(self, thread_id: int, starter: Starter) -> None:
        run = ActiveRun(thread_id)
        self.active[thread_id] = run
        # No automatic cyclic garbage collection while answers stream: measured on a
        # firehose stream, the collector ran 7 times and paused the loop 10-30 ms in all
        # (one pass up to 17 ms), at moments a frame or a key waited. A stream leaves
        # little cyclic garbage (about 13,000 objects for 2,000 chunks): the collector
        # runs instead right after a frame, after each answer and every GC_EVERY_S.
        gc.disable()
        if self._gc_timer is None:
            self._gc_timer = self.app.set_interval(self.GC_EVERY_S, self._collect_after_frame)
        if self._young_timer is None:
            self._young_timer = self.app.set_interval(self.YOUNG_EVERY_S, self._collect_young_after_frame)
        self.app.set_streaming(thread_id, True)
        run.worker = self.app.run_worker(
            self._run(run, starter), group=f"run-{thread_id}", exit_on_error=False
        )

    def stop(self, thread_id: int | None) -> bool:
        run = self.active.get(thread_id) if thread_id is not None else None
        if run is None or run.worker is None:
            return False
        run.worker.cancel()
        return True

    async def _run(self, run: ActiveRun, starter: Starter) -> None:
        try:
            await starter(lambda event: self._apply(run, event), ToolPolicy(approver=self._approve))
        except UserFacingError as exc:
            self.app.notify(exc.message, severity="error", markup=False)
        except StoreError as exc:
            self.app.notify(str(exc), severity="error", markup=False, timeout=10)
        finally:
            self.active.pop(run.thread_id, None)
            self.app.call_after_refresh(self._after_run, run)

    def _after_run(self, run: ActiveRun, frames_left: int = 10) -> None:
        """Once the finished answer is painted, the sidebar catches up and garbage
        collection resumes: neither is in the way of that frame (the collection takes
        about 10 ms after a long stream)."""
        pane = self._pane
        live = pane.live() if pane is not None else None
        if live is not None and live.message_id == run.message_id and frames_left > 0:
            self.app.call_after_refresh(self._after_run, run, frames_left - 1)
            return
        try:
            if run.thread_id not in self.active:  # not already streaming its next answer
                self.app.set_streaming(run.thread_id, False)
            self.app.refresh_threads()
        except NoMatches:  # the app is closing
            pass
        if self.active:
            gc.collect()  # the other answers keep automatic collection off
        else:
            self._resume_gc()
            # What the answers' thread switches removed, once this frame is out.
            self.app.set_timer(COLLECT_AFTER_ANSWER_S, collect_removed)

    def _collect_after_frame(self) -> None:
        if self.active:
            self.app.call_after_refresh(gc.collect)
        else:
            self._resume_gc()

    def _collect_young_after_frame(self) -> None:
        self.app.call_after_refresh(gc.collect, 0)

    def _resume_gc(self) -> None:
        if self._gc_timer is not None:
            self._gc_timer.stop()
            self._gc_timer = None
        if self._young_timer is not None:
            self._young_timer.stop()
            self._young_timer = None
        gc.enable()

    async def settle(self) -> None:
        """Stop every answer and wait until each has stored its text and status
        (the app is closing: quit, a signal, or an unexpected error)."""
        workers = [run.worker for run in self.active.values() if run.worker is not None]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.wait()
        self._resume_gc()

    # -- tool calls that wait for the user ---------------------------------------------

    async def _approve(self, request: ApprovalRequest) -> Decision:
        """The entry of the call asks; this waits for the key or click (`decide`)."""
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self._decisions[request.call_id] = future
        self.app.ask_attention(f"{request.tool.key} waits for your approval (a: allow, d: deny)")
        try:
            return await future
        finally:
            self._decisions.pop(request.call_id, None)

    def decide(self, call_id: str, decision: Decision) -> None:
        future = self._decisions.get(call_id)
        if future is not None and not future.done():
            future.set_result(decision)

    def waiting_call(self, thread_id: int | None) -> ToolCallView | None:
        """The entry on screen of a call of this thread that waits for the user."""
        run = self.active.get(thread_id) if thread_id is not None else None
        if run is None:
            return None
        for call_id, state in run.calls.items():
            if state.status is ToolStatus.AWAITING_APPROVAL and call_id in self._decisions:
                view = run.views.get(call_id)
                if view is not None and view.is_attached:
                    return view
        return None

    # -- events ----------------------------------------------------------------------

    def _apply(self, run: ActiveRun, event: RunEvent) -> None:
        try:
            pane = self._pane or self.app.pane
        except NoMatches:  # the app is closing
            return
        self._pane = pane
        visible = pane.thread_id == run.thread_id
        store = self.app.store
        match event:
            case TextDelta(text=text):
                if not run.answer and run.reasoning and visible:
                    self._answer_started(run, pane)
                run.answer.append(text)
            case TextReplaced(text=text):
                run.answer = GrowingText(text)
            case RunStarted(user_message_id=user_message_id):
                run.message_id = event.message_id
                if visible:
                    if user_message_id is not None:
                        message = store.get_message(user_message_id)
                        if message is not None:
                            pane.add_message(message)
                    run.live = pane.start_live(event.message_id)
                self.app.refresh_threads()
                return
            case SourcesFound(sources=sources):
                if visible:
                    show_sources(pane, event.message_id, sources)
                return
            case PromptFitted(prompt=prompt):
                if visible and prompt is not None:
                    first, omitted = prompt.first_sent_message_id, prompt.omitted
                    pane.set_prompt_cut((first, omitted) if omitted and first is not None else None)
                return
            case ReasoningDelta(text=text):
                run.reasoning += text
                if visible:
                    self._think(run, pane, text)
                return
            case (
                ToolCallStarted()
                | ToolArgumentsDelta()
                | ToolAwaitingApproval()
                | ToolRunning()
                | ToolFinished()
            ):
                self._tool_event(run, pane, event, visible)
                return
            case RunFinished(error=error):
                run.finished = True
                if visible:
                    message = store.get_message(event.message_id)
                    if message is not None:
                        pane.finish_live(message, store.get_run(event.run_id))
                elif error:
                    error = phrase_retry(error, RETRY_HINT)
                    self.app.notify(f"An answer failed: {error}", severity="error", markup=False)
                return
        if not visible:
            return
        live = run.live
        # A removed widget has no parent: this is is_attached without its walk to the app.
        if live is None or live.parent is not pane:
            live = pane.live()
            if live is None:
                # A new live widget starts from the text so far, this event included.
                run.live = pane.start_live(event.message_id, str(run.answer))
                return
            run.live = live
        match event:
            case TextDelta(text=text):
                live.feed(text)
            case TextReplaced(text=text):
                live.replace(text)
            case Notice(text=text):
                live.set_status(f"▍ {text}", style="yellow")

    def _tool_event(self, run: ActiveRun, pane: MessagePane, event: RunEvent, visible: bool) -> None:
        match event:
            case ToolCallStarted(call_id=call_id, tool=tool, server=server):
                state = run.calls[call_id] = ToolCallState(event.message_id, call_id, tool, server)
                if visible:
                    self._view(run, pane, state)
                    if run.live is not None and run.live.parent is pane:
                        run.live.set_status(f"▍ calling {tool}…")
                return
        found = run.calls.get(getattr(event, "call_id", ""))
        if found is None:
            return
        state = found
        view = self._view(run, pane, state) if visible else None
        match event:
            case ToolArgumentsDelta(text=text):
                if view is not None:
                    view.arguments_grew(text)  # the view's state is this state
                else:
                    state.arguments += text
            case ToolAwaitingApproval(arguments=arguments):
                state.arguments = arguments
                state.status = ToolStatus.AWAITING_APPROVAL
                if view is not None:
                    view.set_status(ToolStatus.AWAITING_APPROVAL)
                    # The keys a, A, d, D go to the entry; it stays until answered.
                    view.focus()
                    view.scroll_visible()
            case ToolRunning(started_at=started_at):
                state.status, state.started_at = ToolStatus.RUNNING, started_at
                if view is not None:
                    view.set_status(ToolStatus.RUNNING, started_at)
                    self.app.return_focus(view)
            case ToolFinished() as done:
                if view is not None:
                    view.finished(
                        done.status, done.output, done.is_error, done.duration_s, done.truncated_tokens
                    )
                else:
                    state.status, state.output, state.is_error = done.status, done.output, done.is_error
                    state.duration_s, state.truncated_tokens = done.duration_s, done.truncated_tokens
                if visible and run.live is not None and run.live.parent is pane:
                    run.live.set_status("▍ generating…")

    def _view(self, run: ActiveRun, pane: MessagePane, state: ToolCallState) -> ToolCallView | None:
        view = run.views.get(state.call_id)
        if view is not None and view.parent is pane:
            return view
        view = pane.start_tool_call(state)
        if view is not None:
            run.views[state.call_id] = view
        return view

    def _think(self, run: ActiveRun, pane: MessagePane, suffix: str) -> None:
        """More of the model's thinking: into the section above the live answer."""
        thinking = run.thinking
        if thinking is None or thinking.parent is not pane:
            if run.message_id is None:
                return
            first = run.thinking is None
            before = run.reasoning[: len(run.reasoning) - len(suffix)]
            run.thinking = thinking = pane.start_thinking(run.message_id, before)
            if thinking is None:
                return
            if first and run.live is not None and run.live.parent is pane:
                run.live.set_status("▍ thinking…")
        thinking.feed(suffix)

    def _answer_started(self, run: ActiveRun, pane: MessagePane) -> None:
        thinking = run.thinking
        if thinking is not None and thinking.parent is pane:
            thinking.answer_started()
        live = run.live
        if live is not None and live.parent is pane:
            live.set_status("▍ generating…")

    def resume_on_screen(self, thread_id: int) -> None:
        """The streaming thread was opened again: show its answer so far, live."""
        run = self.active.get(thread_id)
        if run is not None and run.message_id is not None and not run.finished:
            pane = self.app.pane
            run.live = pane.start_live(run.message_id, str(run.answer))
            run.thinking = None
            if run.reasoning:
                run.thinking = pane.start_thinking(run.message_id, run.reasoning, answering=bool(run.answer))
            run.views = {}
            for state in run.calls.values():
                view = self._view(run, pane, state)
                if view is not None and state.status is ToolStatus.AWAITING_APPROVAL:
                    view.focus()
