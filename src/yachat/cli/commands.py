"""Subcommands other than `serve`: their flags and where each one runs."""

from __future__ import annotations

import argparse
from typing import Any

from yachat.cli.common import EXIT_CODES, fail, load_or_fail
from yachat.cli.tool_approval import add_tool_flags


def add_subcommands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Every parser here, down to `threads list`, takes the global options too."""
    shared = [common]

    ask = sub.add_parser(
        "ask",
        parents=shared,
        help="ask one question; the answer streams to stdout",
        description="Ask one question; the answer streams to stdout, usage and errors to stderr.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = ask.add_mutually_exclusive_group()
    where.add_argument("--thread", type=int, metavar="ID", help="continue this thread")
    where.add_argument("--new", action="store_true", help="start a new thread (the default)")
    ask.add_argument(
        "--retry",
        action="store_true",
        help="with --thread: answer the thread's last message again (after a failed or stopped answer)",
    )
    add_tool_flags(ask)
    ask.add_argument(
        "--web-search",
        action="store_true",
        default=None,
        help="search the web for this question (over the Responses API); the pages used go to stderr",
    )
    ask.add_argument("question", nargs="*", help="the question (else read from stdin)")

    chat = sub.add_parser("chat", parents=shared, help="chat in the terminal; --plain for a line chat")
    chat.add_argument("--plain", action="store_true", help="a line-by-line chat without the TUI")
    chat.add_argument("--thread", type=int, metavar="ID", help="continue this thread")
    add_tool_flags(chat)

    threads = sub.add_parser(
        "threads", parents=shared, help="list, show, search, export, rename, delete threads"
    )
    tsub = threads.add_subparsers(dest="threads_command", metavar="ACTION", required=True)
    tsub.add_parser("list", parents=shared, help="threads, most recently active first").add_argument(
        "--limit", type=int, default=50
    )
    tsub.add_parser("show", parents=shared, help="a thread's messages").add_argument("id", type=int)
    search = tsub.add_parser("search", parents=shared, help="full-text search over messages")
    search.add_argument("query", nargs="+")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument(
        "--tools",
        action="store_true",
        help="also search tool calls' arguments and results (kept out by default)",
    )
    export = tsub.add_parser("export", parents=shared, help="a thread as Markdown or JSON")
    export.add_argument("id", type=int)
    export.add_argument(
        "--format", choices=("md", "json"), help="default: as the output's extension says, else md"
    )
    export.add_argument(
        "-o", "--output", help="write to this file instead of stdout (.md or .json added if missing)"
    )
    rename = tsub.add_parser("rename", parents=shared, help="rename a thread")
    rename.add_argument("id", type=int)
    rename.add_argument("name", nargs="+")
    tsub.add_parser("delete", parents=shared, help="delete a thread").add_argument("id", type=int)

    _add_kb(sub, shared)
    _add_mcp(sub, shared)

    sub.add_parser(
        "models", parents=shared, help="the models the backend offers: transport, context, reasoning"
    )
    sub.add_parser("doctor", parents=shared, help="which backend would be used and why; where files live")
    sub.add_parser("tui", parents=shared, help="open the TUI (the default)")


def _add_kb(sub: Any, shared: list[argparse.ArgumentParser]) -> None:
    kb = sub.add_parser(
        "kb",
        parents=shared,
        help="knowledge: the files and folders an assistant answers from",
        description="Knowledge: files and folders an assistant answers from, cited under each answer.",
    )
    ksub = kb.add_subparsers(dest="kb_command", metavar="ACTION", required=True)

    def assistant_flag(parser: argparse.ArgumentParser, default: str) -> None:
        parser.add_argument("--assistant", metavar="NAME", help=f"the assistant by name or id ({default})")

    def words_only_flag(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--words-only",
            action="store_true",
            help="index words only: no vectors from the backend's text embeddings",
        )

    add = ksub.add_parser("add", parents=shared, help="add files or folders and index them")
    add.add_argument("paths", nargs="+", metavar="PATH")
    assistant_flag(add, "default: the default assistant")
    words_only_flag(add)
    listing = ksub.add_parser("list", parents=shared, help="what each assistant knows")
    listing.add_argument("--files", action="store_true", help="every file, with why one was skipped")
    assistant_flag(listing, "default: all")
    remove = ksub.add_parser(
        "remove",
        parents=shared,
        help="forget an added file or folder (in the cloud copy too), or the cloud copy",
    )
    remove.add_argument("path", metavar="PATH", nargs="?")
    remove.add_argument(
        "--cloud", action="store_true", help="remove the whole cloud copy (the local knowledge stays)"
    )
    assistant_flag(remove, "default: the default assistant")
    push = ksub.add_parser(
        "push",
        parents=shared,
        help="copy the knowledge to a vector store for the Responses API's file search",
    )
    assistant_flag(push, "default: the default assistant")
    again = ksub.add_parser("reindex", parents=shared, help="bring the index up to date with the disk")
    assistant_flag(again, "default: all")
    words_only_flag(again)


def _add_mcp(sub: Any, shared: list[argparse.ArgumentParser]) -> None:
    mcp = sub.add_parser(
        "mcp",
        parents=shared,
        help="MCP servers: the tools the model may call",
        description="MCP servers, from [mcp_servers.NAME] in config.toml: the tools the model may call.",
    )
    msub = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    listing = msub.add_parser(
        "list",
        parents=shared,
        help="each server, its state and its tools (starts each one; exit 1 if one failed)",
    )
    listing.add_argument("names", nargs="*", metavar="NAME", help="only these servers")
    listing.add_argument(
        "--timeout", type=float, default=15.0, metavar="S", help="seconds each server has to start (15)"
    )
    imp = msub.add_parser(
        "import", parents=shared, help='add the servers of a Claude Desktop style {"mcpServers": ...} file'
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--force", action="store_true", help="replace servers of the same name")


def dispatch(args: argparse.Namespace) -> int:
    settings = load_or_fail(args)
    if settings is None:
        return 2
    command = args.command or "tui"
    if command == "tui" or (command == "chat" and not args.plain):
        return _run_tui(settings, getattr(args, "thread", None))
    if command == "ask":
        from yachat.cli.ask import run_ask

        return run_ask(settings, args)
    if command == "chat":
        from yachat.cli.plain_chat import run_plain_chat

        return run_plain_chat(settings, args.thread, args)
    if command == "threads":
        from yachat.cli.threads import run_threads

        return run_threads(settings, args)
    if command == "kb":
        from yachat.cli.kb import run_kb

        return run_kb(settings, args)
    if command == "mcp":
        from yachat.cli.mcp import run_mcp

        return run_mcp(settings, args)
    if command == "models":
        from yachat.cli.models import run_models

        return run_models(settings)
    if command == "doctor":
        from yachat.cli.doctor import run_doctor

        return run_doctor(settings)
    return fail(f"unknown command {command!r}", 2)


def _run_tui(settings: Any, thread_id: int | None) -> int:
    try:
        from yachat.tui.app import run_tui
    except ImportError:
        return fail("the TUI is not available in this build; use `yachat chat --plain`.")
    return run_tui(settings, thread_id=thread_id)
