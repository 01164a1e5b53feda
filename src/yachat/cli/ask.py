"""`yachat ask`: one question, the answer streamed to stdout, usage to stderr."""

from __future__ import annotations

import argparse
import sys

from yachat.cli.common import fail
from yachat.cli.session import AnswerPrinter, run_with_core
from yachat.cli.tool_approval import cli_policy
from yachat.cli.tool_servers import tool_servers
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.events import RunFinished
from yachat.core.threads import LastAnswerComplete
from yachat.settings import Settings


def read_question(args: argparse.Namespace) -> str:
    if args.question:
        return " ".join(args.question)
    if sys.stdin.isatty():
        return ""
    # Bytes, decoded forgivingly: a file with invalid UTF-8 still gets asked.
    return sys.stdin.buffer.read().decode("utf-8", errors="replace")


def run_ask(settings: Settings, args: argparse.Namespace) -> int:
    if args.retry:
        return run_retry(settings, args)
    question = read_question(args)
    if not question.strip():
        return fail("no question: pass it as an argument or on stdin.", 2)

    async def body(core: ChatCore) -> int:
        thread_id = core.threads.require(args.thread).id if args.thread is not None else core.new_thread().id
        printer = AnswerPrinter()
        # The question came as arguments and a person is at the terminal: they are asked.
        can_ask = bool(args.question) and sys.stdin.isatty()
        async with tool_servers(core):
            final = await core.send(thread_id, question, printer, cli_policy(args, can_ask))
        return _finish(printer, final)

    return run_with_core(settings, body)


def _finish(printer: AnswerPrinter, final: RunFinished) -> int:
    code = printer.finish(final)
    if code == 0:  # a failure's one line already names the thread, in the command that retries it
        print(f"[thread {final.thread_id}]", file=sys.stderr)
    return code


def run_retry(settings: Settings, args: argparse.Namespace) -> int:
    """`yachat ask --thread ID --retry`: answer the thread's last message again."""
    if args.thread is None:
        return fail("--retry needs --thread ID, the thread whose last message to answer again.", 2)
    if args.question:
        return fail("--retry answers the thread's last message again; give no question with it.", 2)
    thread_id = args.thread

    async def body(core: ChatCore) -> int:
        try:  # before the tool servers start: the rule is the core's, checked again as it runs
            core.threads.rerun_target(thread_id, "retry")
        except LastAnswerComplete:
            raise UserFacingError(
                f"the last answer in thread {thread_id} is complete; there is nothing to retry."
            ) from None
        printer = AnswerPrinter()
        policy = cli_policy(args, sys.stdin.isatty())
        async with tool_servers(core):
            return _finish(printer, await core.retry(thread_id, printer, policy))

    return run_with_core(settings, body)
