"""`yachat kb ...`: the files an assistant answers from, from the shell.

Progress goes to stderr (a line that rewrites itself on a terminal); what was
indexed and what was skipped, with the reason, to stdout. After the words are
indexed, passages get vectors from the backend's text embeddings when it has
them (the cloud; the local server with its embedding model), for hybrid retrieval.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from yachat.cli.common import fail
from yachat.cli.session import run_with_core
from yachat.core.chat import ChatCore
from yachat.core.errors import explain
from yachat.core.knowledge.cloud_copy import CloudState, cloud_state, push, remove_from_cloud
from yachat.core.knowledge.indexer import IndexReport, KnowledgeError, add_paths, find_root, reindex
from yachat.core.knowledge.sources import shown_path
from yachat.settings import Settings
from yachat.store import Assistant, Store, StoreError
from yachat.store.cloud_copies import CloudCopy
from yachat.text import one_line, strip_controls


def run_kb(settings: Settings, args: argparse.Namespace) -> int:
    if args.kb_command == "push":
        return _push(settings, args)
    if args.kb_command == "remove" and args.cloud:
        return (
            _remove_cloud_copy(settings, args)
            if args.path is None
            else fail("give a PATH to forget, or --cloud to remove the cloud copy, not both.")
        )
    try:
        store = Store.open(settings.store_path)
    except StoreError as exc:
        return fail(str(exc))
    try:
        if args.kb_command == "list" and _copies(store, args):
            store.close()
            return run_with_core(settings, lambda core: _list_with_cloud(core, args))
        code = _ACTIONS[args.kb_command](store, args)
        embed_for = getattr(args, "embed_for", False)
        cloud_under = getattr(args, "cloud_under", None)
    except (StoreError, KnowledgeError) as exc:
        return fail(str(exc))
    finally:
        store.close()
    if code == 0 and cloud_under is not None:
        return _remove_from_cloud(settings, *cloud_under)
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
    if args.path is None:
        return fail("give the PATH to forget (see `yachat kb list`), or --cloud to remove the cloud copy.")
    assistant = _assistant(store, args.assistant, required=True)
    assert assistant is not None
    root = find_root(store, assistant.id, args.path)
    store.remove_knowledge_root(root.id)
    print(f"removed {shown_path(root.path)} ({root.files} files, {root.chunks} passages)")
    copy = store.cloud_copy(assistant.id)
    if copy is not None and any(_inside(f.path, root.path) for f in copy.files):
        args.cloud_under = (assistant.id, root.path)  # its files leave the cloud copy too
    return 0


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _list(store: Store, args: argparse.Namespace, clouds: dict[int, CloudState] | None = None) -> int:
    assistant = _assistant(store, args.assistant, required=False)
    roots = store.knowledge_roots(assistant.id if assistant else None)
    clouds = clouds or {}
    if not roots and not clouds:
        print("no knowledge yet; add files or folders with `yachat kb add PATH`.", file=sys.stderr)
        return 0
    names = {a.id: a.name for a in store.list_assistants()}
    owners = list(dict.fromkeys([*(r.assistant_id for r in roots), *clouds]))
    for owner in owners:
        print(f"{one_line(names.get(owner, str(owner)), 60)}:")
        for root in (r for r in roots if r.assistant_id == owner):
            skipped = f", {root.skipped} skipped" if root.skipped else ""
            embedded = store.embedded_chunks(root.id) if root.chunks else 0
            vectors = f" ({embedded} with vectors)" if embedded else ""
            counts = f"{_n(root.files, 'file')}, {_n(root.chunks, 'passage')}{vectors}"
            print(f"  {_safe(shown_path(root.path))}  {counts}{skipped}")
            if args.files:
                for f in store.knowledge_files(root.id):
                    state = f"skipped: {f.skipped}" if f.skipped else f"{f.kind}, {_n(f.chunks, 'passage')}"
                    print(f"    {_safe(shown_path(f.path))}  {state}")
        if owner in clouds:
            print(f"  {_cloud_line(clouds[owner])}")
    return 0


def _copies(store: Store, args: argparse.Namespace) -> list[CloudCopy]:
    assistant = _assistant(store, args.assistant, required=False)
    return [c for c in store.cloud_copies() if assistant is None or c.assistant_id == assistant.id]


async def _list_with_cloud(core: ChatCore, args: argparse.Namespace) -> int:
    states = {c.assistant_id: await cloud_state(core, c) for c in _copies(core.store, args)}
    return _list(core.store, args, states)


def _cloud_line(state: CloudState) -> str:
    copy = state.copy
    head = f"cloud: vector store {copy.vector_store_id}, {_n(len(copy.files), 'file')}"
    if copy.pushed_at is not None:
        head += f" pushed {time.strftime('%Y-%m-%d %H:%M', time.localtime(copy.pushed_at))}"
    changed = f"; {_n(state.changed_locally, 'file')} changed since" if state.changed_locally else ""
    if state.status in ("unreachable", "elsewhere"):
        return f"{head}: state unknown ({state.reason}){changed}"
    if state.status == "gone":
        return f"{head}: {state.reason}; `yachat kb push` makes a new one"
    counts = f"{state.completed} indexed"
    if state.failed:
        counts += f", {state.failed} failed"
    if state.in_progress:
        counts += f", {state.in_progress} indexing"
    return f"{head}: {state.status} ({counts}){changed}"


def _push(settings: Settings, args: argparse.Namespace) -> int:
    async def body(core: ChatCore) -> int:
        assistant = _assistant(core.store, args.assistant, required=True)
        assert assistant is not None
        uploading, indexing = (
            Progress(sys.stderr, "uploading", "files"),
            Progress(sys.stderr, "indexing", "files"),
        )
        started = time.monotonic()
        try:
            report = await push(core, assistant, on_upload=uploading, on_indexing=indexing)
        finally:
            uploading.done()
            indexing.done()
        backend = core.backend
        where = f" at {backend.description}" if backend is not None else ""
        print(
            f"pushed {one_line(assistant.name, 40)}'s knowledge"
            f" to {'a new ' if report.new_store else ''}vector store {report.vector_store_id}{where}:"
            f" {_n(report.uploaded, 'file')} uploaded ({report.uploaded_bytes / 2**20:.1f} MB),"
            f" {report.unchanged} unchanged, {report.removed} removed there;"
            f" {report.status} in {time.monotonic() - started:.1f} s"
        )
        if report.status == "in_progress":
            print("the vector store is still indexing; `yachat kb list` shows when it is done")
        for title, items in (("failed there", report.failed), ("not uploaded", report.skipped)):
            if items:
                print(f"{title} {len(items)}:")
                for path, reason in items:
                    print(f"  {_safe(shown_path(path))}: {reason}")
        if report.left_elsewhere:
            print(f"an earlier copy stays where it was ({report.left_elsewhere}); remove it from there")
        return 0

    return _with_core(settings, body)


def _remove_from_cloud(settings: Settings, assistant_id: int, root: str) -> int:
    async def body(core: ChatCore) -> int:
        copy = core.store.cloud_copy(assistant_id)
        removed = await remove_from_cloud(core, assistant_id, under=root)
        if copy is not None:
            print(f"removed {_n(removed, 'file')} from the cloud copy (vector store {copy.vector_store_id})")
        return 0

    return _with_core(settings, body)


def _remove_cloud_copy(settings: Settings, args: argparse.Namespace) -> int:
    async def body(core: ChatCore) -> int:
        assistant = _assistant(core.store, args.assistant, required=True)
        assert assistant is not None
        copy = core.store.cloud_copy(assistant.id)
        if copy is None:
            return fail(f"{one_line(assistant.name, 40)} has no cloud copy; `yachat kb push` makes one.")
        removed = await remove_from_cloud(core, assistant.id)
        print(f"removed the cloud copy: vector store {copy.vector_store_id} and its {_n(removed, 'file')}")
        return 0

    return _with_core(settings, body)


def _with_core(settings: Settings, body: Callable[[ChatCore], Awaitable[int]]) -> int:
    async def guarded(core: ChatCore) -> int:
        try:
            return await body(core)
        except KnowledgeError as exc:
            return fail(exc.message)

    return run_with_core(settings, guarded)


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

    def __init__(self, err: TextIO, doing: str = "indexing", things: str = "") -> None:
        self.err = err
        self.doing = doing
        self.things = things or ("files" if doing == "indexing" else "passages")
        self.tty = err.isatty()
        self.shown_at = 0.0
        self.width = 0

    def __call__(self, done: int, total: int, path: str) -> None:
        if not self.tty:
            if done == 0:
                print(f"yachat: {self.doing} {total} {self.things}…", file=self.err, flush=True)
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
