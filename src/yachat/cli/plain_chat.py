"""`yachat chat --plain`: the seed's line chat. Ask, watch the answer stream,
repeat; `exit` or EOF prints the whole thread newest first, then usage."""

from __future__ import annotations

import sys

import anyio

from yachat.cli.session import AnswerPrinter, run_with_core
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.settings import Settings
from yachat.text import strip_controls

PROMPT = "you> "


def _read_line() -> str | None:
    sys.stdout.write(PROMPT)
    sys.stdout.flush()
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\n")


def run_plain_chat(settings: Settings, thread_id: int | None) -> int:
    async def body(core: ChatCore) -> int:
        if thread_id is not None and core.store.get_thread(thread_id) is None:
            raise UserFacingError(f"thread {thread_id} does not exist; see `yachat threads list`.")
        backend = await core.connect(on_status=lambda line: print(f"yachat: {line}", file=sys.stderr))
        print(f"yachat: {backend.description} ({backend.reason}); type exit to end.", file=sys.stderr)
        tid = thread_id if thread_id is not None else core.new_thread().id
        failures = 0
        while True:
            line = await anyio.to_thread.run_sync(_read_line)
            if line is None or line.strip().lower() == "exit":
                break
            if not line.strip():
                continue
            sys.stdout.write("assistant> ")
            printer = AnswerPrinter()
            final = await core.send(tid, line, printer)
            failures += printer.finish(final)
        print_history(core, tid)
        return 0 if failures == 0 else 1

    return run_with_core(settings, body)


def print_history(core: ChatCore, thread_id: int) -> None:
    thread = core.store.get_thread(thread_id)
    messages = core.store.list_messages(thread_id)
    out = sys.stdout
    safe = (lambda s: strip_controls(s)) if out.isatty() else (lambda s: s)
    print(f"\n=== {safe(thread.name if thread else '')} (thread {thread_id}), newest first ===")
    for m in reversed(messages):
        who = "you" if m.role == "user" else "assistant"
        state = "" if m.status == "complete" else f" [{m.status}]"
        print(f"{who}{state}: {safe(m.text)}")
    i, c, t = core.store.usage_totals(thread_id)
    print(f"=== usage: {i} input, {c} completion, {t} total tokens ===")
