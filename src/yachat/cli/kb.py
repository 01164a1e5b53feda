"""`yachat kb ...`: the files an assistant answers from, from the shell.

Progress goes to stderr (a line that rewrites itself on a terminal); what was
indexed and what was skipped, with the reason, to stdout. After the words are
indexed, passages get vectors from the backend's text embeddings when it has
them (the cloud; the local server with its embedding model), for hybrid retrieval.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from yachat.cli.common import fail
from yachat.cli.session import run_with_core
from yachat.core.chat import ChatCore
from yachat.core.errors import explain
from yachat.core.knowledge.indexer import IndexReport, KnowledgeError, add_paths, find_root, reindex
from yachat.core.knowledge.sources import shown_path
from yachat.settings import Settings
from yachat.store import Assistant, Store, StoreError
from yachat.text import one_line, strip_controls


def run_kb(settings: Settings, args: argparse.Namespace) -> int:
    try:
        store = Store.open(settings.store_path)
    except StoreError as exc:
        return fail(str(exc))
    try:
        code = _ACTIONS[args.kb_command](store, args)
        embed_for = getattr(args, "embed_for", False)
    except (StoreError, KnowledgeError) as exc:
        return fail(str(exc))
    finally:
        store.close()
    if code == 0 and embed_for is not False and not args.words_only:
        return _embed(settings, embed_for)
    return code


def _embed(settings: Settings, assistant_id: int | None) -> int:
    """Vectors for the passages that have none; the words' index is usable whatever happens here."""

    async def body(core: ChatCore) -> int:
        progress = Progress(sys.stderr, "embedding")
        started = time.monotonic()
        try:
            done = await core.embed_knowledge(assistant_id, on_progress=lambda d, t: progress(d, t, ""))
        except Exception as exc:
            progress.done()
            print(f"yachat: passages are searched by their words only for now ({_reason(exc)}); "
                  "`yachat kb reindex` tries again.", file=sys.stderr)  # fmt: skip
            return 0
        progress.done()
        backend = core.backend.description if core.backend else "the backend"
        if done is None:
            print(f"passages are searched by their words only: {backend} has no text embeddings")
        elif done:
            print(f"embedded {_n(done, 'passage')} with {backend} in {time.monotonic() - started:.1f} s")
        return 0

    return run_with_core(settings, body)


def _reason(exc: Exception) -> str:
    return explain(exc).rstrip(".")


def _assistant(store: Store, name: str | None, required: bool) -> Assistant | None:
    if name is None:
        return store.default_assistant() if required else None
    assistants = store.list_assistants()
    for a in assistants:
        if str(a.id) == name or a.name.casefold() == name.casefold():
            return a
    known = ", ".join(one_line(a.name, 40) for a in assistants)
    raise KnowledgeError(f"no assistant is named {name!r}; there are: {known}.")


def _add(store: Store, args: argparse.Namespace) -> int:
    assistant = _assistant(store, args.assistant, required=True)
    assert assistant is not None
    progress = Progress(sys.stderr)
    started = time.monotonic()
    try:
        report = add_paths(store, assistant.id, args.paths, on_progress=progress)
    finally:
        progress.done()
    _print_report(report, f"into {one_line(assistant.name, 40)}'s knowledge", time.monotonic() - started)
    args.embed_for = assistant.id
    return 0


def _reindex(store: Store, args: argparse.Namespace) -> int:
    assistant = _assistant(store, args.assistant, required=False)
    if not store.knowledge_roots(assistant.id if assistant else None):
        return fail("there is no knowledge to reindex; add some with `yachat kb add PATH`.")
    progress = Progress(sys.stderr)
    started = time.monotonic()
    try:
        report = reindex(store, assistant.id if assistant else None, on_progress=progress)
    finally:
        progress.done()
    _print_report(report, "", time.monotonic() - started)
    args.embed_for = assistant.id if assistant else None
    return 0


def _remove(store: Store, args: argparse.Namespace) -> int:
    assistant = _assistant(store, args.assistant, required=True)
    assert assistant is not None
    root = find_root(store, assistant.id, args.path)
    store.remove_knowledge_root(root.id)
    print(f"removed {shown_path(root.path)} ({root.files} files, {root.chunks} passages)")
    return 0


def _list(store: Store, args: argparse.Namespace) -> int:
    assistant = _assistant(store, args.assistant, required=False)
    roots = store.knowledge_roots(assistant.id if assistant else None)
    if not roots:
        print("no knowledge yet; add files or folders with `yachat kb add PATH`.", file=sys.stderr)
        return 0
    names = {a.id: a.name for a in store.list_assistants()}
    current = None
    for root in roots:
        if root.assistant_id != current:
            current = root.assistant_id
            print(f"{one_line(names.get(current, str(current)), 60)}:")
        skipped = f", {root.skipped} skipped" if root.skipped else ""
        embedded = store.embedded_chunks(root.id) if root.chunks else 0
        vectors = f" ({embedded} with vectors)" if embedded else ""
        counts = f"{_n(root.files, 'file')}, {_n(root.chunks, 'passage')}{vectors}"
        print(f"  {_safe(shown_path(root.path))}  {counts}{skipped}")
        if args.files:
            for f in store.knowledge_files(root.id):
                state = f"skipped: {f.skipped}" if f.skipped else f"{f.kind}, {_n(f.chunks, 'passage')}"
                print(f"    {_safe(shown_path(f.path))}  {state}")
    return 0


def _print_report(report: IndexReport, where: str, seconds: float) -> None:
    size = f", {report.bytes_read / 2**20:.1f} MB read" if report.bytes_read else ""
    print(
        f"indexed {report.added} new and {report.updated} changed files ({report.chunks} passages){size}"
        f"{' ' + where if where else ''} in {seconds:.1f} s; {report.unchanged} unchanged,"
        f" {report.removed} gone from disk and removed"
    )
    if report.skipped:
        print(f"skipped {len(report.skipped)}:")
        for path, reason in report.skipped:
            print(f"  {_safe(shown_path(path))}: {reason}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _safe(text: str) -> str:
    return strip_controls(text) if sys.stdout.isatty() else text


class Progress:
    """Files done of files found: one line rewritten ten times a second on a terminal;
    in a pipe or a log, a line as each folder starts."""

    def __init__(self, err: TextIO, doing: str = "indexing") -> None:
        self.err = err
        self.doing = doing
        self.tty = err.isatty()
        self.shown_at = 0.0
        self.width = 0

    def __call__(self, done: int, total: int, path: str) -> None:
        if not self.tty:
            if done == 0:
                things = "files" if self.doing == "indexing" else "passages"
                print(f"yachat: {self.doing} {total} {things}…", file=self.err, flush=True)
            return
        now = time.monotonic()
        if done < total and now - self.shown_at < 0.1:
            return
        self.shown_at = now
        bar = "█" * (20 * done // max(1, total))
        where = f" {strip_controls(shown_path(path))}" if path else ""
        line = f"{self.doing} [{bar:<20}] {done}/{total}{where}"[:100]
        self.err.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.err.flush()

    def done(self) -> None:
        if self.tty and self.width:
            self.err.write("\r" + " " * self.width + "\r")
            self.err.flush()


_ACTIONS = {"add": _add, "list": _list, "remove": _remove, "reindex": _reindex}
