"""Run a CLI command against the chat core: open it, report errors as one
line, close it (stopping a local server the command started), also when a
signal ends it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

import anyio

from yachat.cli.common import fail, failed_answer_line, no_such_thread
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.events import (
    Notice,
    PromptFitted,
    ReasoningDelta,
    RunEvent,
    RunFinished,
    SourcesFound,
    TextDelta,
    TextReplaced,
    ToolAwaitingApproval,
    ToolCallStarted,
    ToolFinished,
)
from yachat.core.exit_signals import GUARD, SignalStop, exit_code, on_exit_signals, signal_name
from yachat.core.knowledge.sources import sources_block
from yachat.core.threads import NoSuchThread
from yachat.logs import route_loop_errors, setup_logging
from yachat.settings import Settings
from yachat.store import StoreError
from yachat.store.knowledge import Passage
from yachat.text import strip_controls


def run_with_core(settings: Settings, body: Callable[[ChatCore], Awaitable[int]]) -> int:
    setup_logging()
    try:
        core = ChatCore.open_store(settings)
    except StoreError as exc:
        return fail(str(exc))

    async def main() -> int:
        route_loop_errors()
        try:
            # SIGTERM, SIGHUP and ctrl+c cancel the body: a streaming answer is kept,
            # marked cancelled; then the store closes and a started server stops.
            with anyio.CancelScope() as scope:
                stop = SignalStop(scope)
                with on_exit_signals(stop):
                    return await body(core)
            assert stop.signum is not None
            with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
                print(f"\nyachat: stopped by {signal_name(stop.signum)}.", file=sys.stderr, flush=True)
            return exit_code(stop.signum)
        except NoSuchThread as exc:
            return fail(no_such_thread(exc))
        except UserFacingError as exc:
            return fail(exc.message)
        except StoreError as exc:
            return fail(str(exc))
        finally:
            await core.aclose()

    with GUARD.guarding(core.store):
        return anyio.run(main)


class AnswerPrinter:
    """Writes a streaming answer to a text stream as it grows.

    On a terminal, escape sequences from the model are stripped so they cannot
    move the cursor, retitle the window or write the clipboard; into a pipe the
    text goes byte for byte as the model sent it.
    """

    def __init__(
        self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, omitted_shown: int = 0, prefix: str = ""
    ) -> None:
        self.out, self.err = out, err
        self.prefix = prefix  # written before the answer's first text (after any notice)
        self.safe = out.isatty()
        self.notice_shown = False
        self.thinking = False  # reasoning is being written to stderr
        # A line chat says that messages were left out when the number changes, not every turn.
        self.omitted_shown = omitted_shown
        self.sources: tuple[Passage, ...] = ()
        self.calls = 0

    def __call__(self, event: RunEvent) -> None:
        match event:
            case TextDelta(text=text):
                self._end_thinking()
                self._write(text)
            case ReasoningDelta(text=text):
                # The model's reasoning goes to stderr, so stdout holds the answer alone.
                if not self.thinking:
                    self.thinking = True
                    self.err.write("thinking: ")
                self.err.write(strip_controls(text) if self.err.isatty() else text)
                self.err.flush()
            case TextReplaced(text=text):
                # A rewrite cannot be undone on a stream; mark it and print the new text.
                self._write("\n[answer rewritten by the server]\n" + text)
            case Notice(text=text):
                self._end_thinking()
                self._line(f"yachat: {text}")
            case SourcesFound(sources=sources):
                self.sources = sources
            case PromptFitted(prompt=prompt) if prompt is not None:
                omitted = prompt.omitted
                if omitted and omitted != self.omitted_shown:
                    self.omitted_shown = omitted
                    self._line(f"yachat: {omitted_line(omitted)}")
            case ToolCallStarted(tool=tool, server=server):
                self._end_thinking()
                self.calls += 1
                self._line(f"yachat: tool call {tool_name(server, tool)}")
            case ToolAwaitingApproval():
                pass  # the approver asks, on the terminal
            case ToolFinished() as finished:
                self._line(f"yachat: {tool_result_line(finished)}")
            case _:
                pass

    def _line(self, text: str) -> None:
        print(strip_controls(text) if self.err.isatty() else text, file=self.err, flush=True)

    def _end_thinking(self) -> None:
        if self.thinking:
            self.thinking = False
            self.err.write("\n")
            self.err.flush()

    def _write(self, text: str) -> None:
        if self.prefix:
            text, self.prefix = self.prefix + text, ""
        self.out.write(strip_controls(text) if self.safe else text)
        self.out.flush()

    def finish(self, final: RunFinished) -> int:
        self._end_thinking()
        self.out.write(self.prefix + "\n")
        self.prefix = ""
        self.out.flush()
        if final.error:
            failed = final.status != "completed"
            error = failed_answer_line(final.error, final.thread_id) if failed else final.error
            print(f"yachat: {error}", file=self.err, flush=True)
        if final.truncated:
            print(f"yachat: {cut_off_line(final)}", file=self.err, flush=True)
        if self.sources:
            # After the answer, where the terminal shows them under it; stdout keeps the answer alone.
            print(*sources_block(self.sources), sep="\n", file=self.err, flush=True)
        if final.usage:
            u = final.usage
            out = f"{u.completion_tokens} out" + (
                f" ({u.reasoning_tokens} reasoning)" if u.reasoning_tokens else ""
            )
            print(
                f"[tokens: {u.input_tokens} in, {out}, {u.total_tokens} total]",
                file=self.err,
                flush=True,
            )
        return 0 if final.status == "completed" else 1


def omitted_line(omitted: int) -> str:
    noun = "message was" if omitted == 1 else "messages were"
    return f"{omitted} earlier {noun} not sent to the model (they do not fit its context)."


def cut_off_line(final: RunFinished) -> str:
    size = f" after {final.usage.completion_tokens} tokens" if final.usage else ""
    return f"the answer was cut off{size}: it reached the length limit (max tokens or the model's context)."


def tool_name(server: str, tool: str) -> str:
    return f"{server}/{tool}" if server else tool


def tool_result_line(event: ToolFinished) -> str:
    """A finished call in one line: how it ended, how long it took, its output's start."""
    took = f" in {event.duration_s:.1f} s" if event.duration_s is not None else ""
    first = " ".join(event.output.split())
    if len(first) > 100:
        first = first[:99] + "…"
    cut = f" (cut: ~{event.truncated_tokens:,} tokens left out)" if event.truncated_tokens else ""
    return f"  {event.status}{took}: {first}{cut}"
