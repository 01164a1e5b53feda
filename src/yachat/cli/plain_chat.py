"""`yachat chat --plain`: the seed's line chat. Ask, watch the answer stream,
repeat; `exit` or EOF prints the whole thread newest first, then usage."""

from __future__ import annotations

import argparse
import sys

from yachat.cli.line_input import PROMPT, read_line
from yachat.cli.session import AnswerPrinter, run_with_core
from yachat.cli.tool_approval import cli_policy
from yachat.cli.tool_servers import tool_servers
from yachat.core.chat import ChatCore
from yachat.core.export import status_label
from yachat.settings import Settings
from yachat.text import strip_controls


def run_plain_chat(settings: Settings, thread_id: int | None, args: argparse.Namespace | None = None) -> int:
    async def body(core: ChatCore) -> int:
        if thread_id is not None:
            core.threads.require(thread_id)
        backend = await core.connect(on_status=lambda line: print(f"yachat: {line}", file=sys.stderr))
        print(f"yachat: {backend.description} ({backend.reason}); type exit to end.", file=sys.stderr)
        tid = thread_id if thread_id is not None else core.new_thread().id
        async with tool_servers(core):
            failures, _ = await chat_lines(core, tid, args)
        print_history(core, tid)
        return 0 if failures == 0 else 1

    return run_with_core(settings, body)


async def chat_lines(core: ChatCore, tid: int, args: argparse.Namespace | None) -> tuple[int, int]:
    """Question, answer, until `exit` or end of input: how many answers failed."""
    failures, omitted_shown = 0, 0
    while True:
        line = await read_line(PROMPT)
        if line is None or line.strip().lower() == "exit":
            break
        if not line.strip():
            continue
        printer = AnswerPrinter(omitted_shown=omitted_shown, prefix="assistant> ")
        # Tool calls are asked about inline, on the same terminal, as the chat is.
        policy = cli_policy(args or argparse.Namespace(), sys.stdin.isatty())
        final = await core.send(tid, line, printer, policy)
        failures += printer.finish(final)
        omitted_shown = printer.omitted_shown
    return failures, omitted_shown


def print_history(core: ChatCore, thread_id: int) -> None:
    whole = core.threads.whole(thread_id)
    runs = whole.runs
    out = sys.stdout
    safe = (lambda s: strip_controls(s)) if out.isatty() else (lambda s: s)
    print(f"\n=== {safe(whole.thread.name)} (thread {thread_id}), newest first ===")
    for m in reversed(whole.messages):
        who = "you" if m.role == "user" else "assistant"
        label = status_label(m, runs.get(m.run_id) if m.run_id else None)
        print(f"{who}{f' [{label}]' if label else ''}: {safe(m.text)}")
    i, c, t = core.store.usage_totals(thread_id)
    print(f"=== usage: {i} input, {c} completion, {t} total tokens ===")
