"""Run a CLI command against the chat core: open it, report errors as one
line, close it (stopping a local server the command started)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

import anyio

from yachat.cli.common import fail, failed_answer_line
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.updates import RunUpdate, UpdateKind
from yachat.logs import route_loop_errors, setup_logging
from yachat.settings import Settings
from yachat.store import StoreError
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
            return await body(core)
        except UserFacingError as exc:
            return fail(exc.message)
        except StoreError as exc:
            return fail(str(exc))
        finally:
            await core.aclose()

    return anyio.run(main)


class AnswerPrinter:
    """Writes a streaming answer to a text stream as it grows.

    On a terminal, escape sequences from the model are stripped so they cannot
    move the cursor, retitle the window or write the clipboard; into a pipe the
    text goes byte for byte as the model sent it.
    """

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.out, self.err = out, err
        self.safe = out.isatty()
        self.notice_shown = False

    def __call__(self, update: RunUpdate) -> None:
        if update.kind is UpdateKind.APPEND:
            self._write(update.text)
        elif update.kind is UpdateKind.REPLACE:
            # A rewrite cannot be undone on a stream; mark it and print the new text.
            self._write("\n[answer rewritten by the server]\n" + update.text)
        elif update.kind is UpdateKind.NOTICE:
            print(f"yachat: {update.text}", file=self.err, flush=True)

    def _write(self, text: str) -> None:
        self.out.write(strip_controls(text) if self.safe else text)
        self.out.flush()

    def finish(self, final: RunUpdate) -> int:
        self.out.write("\n")
        self.out.flush()
        if final.error:
            failed = final.status != "completed"
            error = failed_answer_line(final.error, final.thread_id) if failed else final.error
            print(f"yachat: {error}", file=self.err, flush=True)
        if final.usage:
            u = final.usage
            print(
                f"[tokens: {u.input_tokens} in, {u.completion_tokens} out, {u.total_tokens} total]",
                file=self.err,
                flush=True,
            )
        return 0 if final.status == "completed" else 1
