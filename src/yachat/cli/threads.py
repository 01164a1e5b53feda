"""`yachat threads ...`: the store from the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from yachat.cli.common import fail, use_color
from yachat.core.export import export_target, export_thread, status_label, tool_call_lines
from yachat.core.knowledge.sources import sources_block
from yachat.settings import Settings
from yachat.store import Store, StoreError
from yachat.store.models import Part
from yachat.text import one_line, strip_controls


def run_threads(settings: Settings, args: argparse.Namespace) -> int:
    try:
        store = Store.open(settings.store_path)
    except StoreError as exc:
        return fail(str(exc))
    try:
        # Answers whose process died are shown as interrupted, never as streaming.
        store.settle_dead_runs()
        return _ACTIONS[args.threads_command](store, args)
    except StoreError as exc:
        return fail(str(exc))
    finally:
        store.close()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _list(store: Store, args: argparse.Namespace) -> int:
    for t in store.list_threads(limit=args.limit):
        print(f"{t.id:>6}  {_when(t.updated_at)}  {one_line(t.name, 70)}")
    return 0


def _show(store: Store, args: argparse.Namespace) -> int:
    thread = store.get_thread(args.id)
    if thread is None:
        return fail(f"thread {args.id} does not exist; see `yachat threads list`.")
    safe = strip_controls if sys.stdout.isatty() else (lambda s: s)
    print(f"# {one_line(thread.name, 200)}  (thread {thread.id})")
    messages = store.with_parts(store.list_messages(thread.id))
    runs = {r.id: r for r in store.list_runs(thread.id)}
    sources = store.thread_sources(thread.id)
    for m in messages:
        run = runs.get(m.run_id) if m.run_id else None
        label = status_label(m, run)
        state = f" [{label}]" if label else ""
        model = f" · {run.answered_by or run.model_uri}" if run is not None else ""
        print(f"\n{m.role}{state}{model} · {_when(m.created_at)}")
        if m.reasoning:
            print("thinking: " + safe(m.reasoning).replace("\n", "\n          "))
        for call, result in tool_call_lines(m):
            print(safe(compact_call(call, result)))
        print(safe(m.text))
        if m.run_id in sources:
            print(*sources_block(sources[m.run_id]), sep="\n")
    return 0


def _search(store: Store, args: argparse.Namespace) -> int:
    query = " ".join(args.query)
    hits = store.search(query, limit=args.limit)
    if getattr(args, "tools", False):
        hits += store.search_tool_output(query, limit=args.limit)
    if not hits:
        print("no matches", file=sys.stderr)
        return 1
    bold, plain = ("\x1b[1m", "\x1b[0m") if use_color(sys.stdout) else ("«", "»")
    for hit in hits:
        # Clean each piece, then mark the matches: the markers are controls too.
        pieces = [
            strip_controls(p).replace("\n", " ") for p in hit.snippet.replace("\x03", "\x02").split("\x02")
        ]
        snippet = "".join(p if i % 2 == 0 else f"{bold}{p}{plain}" for i, p in enumerate(pieces))
        print(f"{hit.thread_id:>6}  {one_line(hit.thread_name, 40)}  {hit.role}: {snippet}")
    return 0


def _export(store: Store, args: argparse.Namespace) -> int:
    path, fmt = export_target(args.output, args.format) if args.output else (None, args.format or "md")
    try:
        text = export_thread(store, args.id, fmt)
    except LookupError:
        return fail(f"thread {args.id} does not exist; see `yachat threads list`.")
    if path is not None:
        try:
            path.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {path}: {exc.strerror}")
        print(f"exported thread {args.id} to {path}", file=sys.stderr)
    else:
        sys.stdout.write(text + "\n")
    return 0


def _rename(store: Store, args: argparse.Namespace) -> int:
    if store.get_thread(args.id) is None:
        return fail(f"thread {args.id} does not exist; see `yachat threads list`.")
    store.rename_thread(args.id, " ".join(args.name))
    return 0


def _delete(store: Store, args: argparse.Namespace) -> int:
    if store.get_thread(args.id) is None:
        return fail(f"thread {args.id} does not exist; see `yachat threads list`.")
    store.delete_thread(args.id)
    print(f"deleted thread {args.id}", file=sys.stderr)
    return 0


_ACTIONS = {
    "list": _list,
    "show": _show,
    "search": _search,
    "export": _export,
    "rename": _rename,
    "delete": _delete,
}


def compact_call(call: Part, result: Part | None) -> str:
    """`tool server/name {"a": 1} → done 0.2 s: first line of the output`"""
    name = f"{call.server}/{call.tool}" if call.server else str(call.tool)
    arguments = one_line(call.arguments or "{}", 80)
    line = f"tool {name} {arguments} → {call.status}"
    if result is not None:
        if result.duration_s is not None:
            line += f" {result.duration_s:.1f} s"
        output = one_line(result.text, 100)
        if output:
            line += f": {output}"
    return line
