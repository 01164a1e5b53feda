"""Who approves a tool call from the command line.

On a terminal, the user is asked (y / N / always / never). Anywhere else —
a pipe, a script, cron — no one can answer, so every call is denied unless
the command allowed it: `--allow-tools` for all of this run's calls,
`--allow-tool NAME` (repeatable) for one tool. A denial goes back to the
model as the tool's result; the answer goes on.
"""

from __future__ import annotations

import argparse
import json
import sys

from yachat.cli.line_input import read_line
from yachat.core.events import ApprovalRequest, Decision
from yachat.core.tools.loop import ToolPolicy
from yachat.text import strip_controls

ANSWERS = {
    "y": Decision.ALLOW_ONCE,
    "yes": Decision.ALLOW_ONCE,
    "a": Decision.ALLOW_ALWAYS,
    "always": Decision.ALLOW_ALWAYS,
    "never": Decision.DENY_ALWAYS,
}


def add_tool_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-tools", action="store_true", help="run every tool call of this answer without asking"
    )
    parser.add_argument(
        "--allow-tool",
        action="append",
        default=[],
        metavar="NAME",
        help="run this tool's calls without asking (a name or server/name; repeatable)",
    )


def cli_policy(args: argparse.Namespace, can_ask: bool) -> ToolPolicy:
    return ToolPolicy(
        approver=ask_on_terminal if can_ask else None,
        allow_all=bool(getattr(args, "allow_tools", False)),
        allowed=frozenset(getattr(args, "allow_tool", None) or ()),
    )


def describe(request: ApprovalRequest) -> str:
    try:
        arguments = json.dumps(json.loads(request.arguments or "{}"), ensure_ascii=False)
    except json.JSONDecodeError:
        arguments = request.arguments
    if len(arguments) > 300:
        arguments = arguments[:299] + "…"
    return strip_controls(f"{request.tool.key} {arguments}")


async def ask_on_terminal(request: ApprovalRequest) -> Decision:
    err = sys.stderr
    while True:
        print(f"\nyachat: the model wants to run {describe(request)}", file=err)
        print("  allow? [y]es / [N]o / [a]lways / never: ", end="", file=err, flush=True)
        line = await read_line()
        if line is None:
            return Decision.DENY_ONCE
        answer = line.strip().lower()
        if answer in ("", "n", "no"):
            return Decision.DENY_ONCE
        if answer in ANSWERS:
            return ANSWERS[answer]
        print("yachat: answer y, n, always or never.", file=err, flush=True)
