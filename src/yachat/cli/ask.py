"""`yachat ask`: one question, the answer streamed to stdout, usage to stderr."""

from __future__ import annotations

import argparse
import sys

from yachat.cli.common import fail
from yachat.cli.session import AnswerPrinter, run_with_core
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.settings import Settings


def read_question(args: argparse.Namespace) -> str:
    if args.question:
        return " ".join(args.question)
    if sys.stdin.isatty():
        return ""
    # Bytes, decoded forgivingly: a file with invalid UTF-8 still gets asked.
    return sys.stdin.buffer.read().decode("utf-8", errors="replace")


def run_ask(settings: Settings, args: argparse.Namespace) -> int:
    question = read_question(args)
    if not question.strip():
        return fail("no question: pass it as an argument or on stdin.", 2)

    async def body(core: ChatCore) -> int:
        if args.thread is not None:
            if core.store.get_thread(args.thread) is None:
                raise UserFacingError(f"thread {args.thread} does not exist; see `yachat threads list`.")
            thread_id = args.thread
        else:
            thread_id = core.new_thread().id
        printer = AnswerPrinter()
        final = await core.send(thread_id, question, printer)
        print(f"[thread {thread_id}]", file=sys.stderr)
        return printer.finish(final)

    return run_with_core(settings, body)
