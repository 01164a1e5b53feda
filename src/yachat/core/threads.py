"""The rules about threads that take more than one store call, shared by the TUI and the CLI.

Which answer a retry or a regenerate replaces,
delete with undo, rename, fork on edit and export each live here once; the
front ends phrase the outcome their own way (a notice, a line on stderr).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from yachat.core.errors import UserFacingError
from yachat.core.export import export_target, export_thread
from yachat.store import Store, ThreadSnapshot
from yachat.store.knowledge import Passage
from yachat.store.models import Message, MessageStatus, Run, Thread

EXPORT_FORMATS = ("md", "json")

Rerun = Literal["retry", "regenerate"]


class NoSuchThread(UserFacingError):
    def __init__(self, thread_id: int) -> None:
        super().__init__(f"thread {thread_id} does not exist")
        self.thread_id = thread_id


class NothingToRerun(UserFacingError):
    """The thread has no message to answer again."""


class LastAnswerComplete(UserFacingError):
    """A retry is for an answer that did not complete; a complete one is regenerated."""

    def __init__(self, thread_id: int) -> None:
        super().__init__("The last answer is complete; use Regenerate to replace it.")
        self.thread_id = thread_id


@dataclass
class WholeThread:
    """Every message of a thread (with its parts), its runs by id and its sources by run id."""

    thread: Thread
    messages: list[Message]
    runs: dict[int, Run]
    sources: dict[int, list[Passage]]


class ThreadRules:
    def __init__(self, store: Store) -> None:
        self.store = store

    def require(self, thread_id: int) -> Thread:
        thread = self.store.get_thread(thread_id)
        if thread is None:
            raise NoSuchThread(thread_id)
        return thread

    def settled(self, thread_id: int) -> Thread:
        """The thread, its answers whose process died marked interrupted, never streaming:
        what opening it in a front end starts with."""
        thread = self.require(thread_id)
        self.store.settle_dead_runs(thread.id)
        return thread

    def whole(self, thread_id: int) -> WholeThread:
        """The whole thread, as `threads show` and the plain chat's history print it."""
        store = self.store
        thread = self.require(thread_id)
        messages = store.with_parts(store.list_messages(thread.id))
        runs = {run.id: run for run in store.list_runs(thread.id)}
        return WholeThread(thread, messages, runs, store.thread_sources(thread.id))

    def rerun_target(self, thread_id: int, how: Rerun) -> Message | None:
        """The answer a retry or a regenerate replaces (None: the last message is the user's).

        A retry replaces only an answer that did not complete; a regenerate any answer."""
        last = self.store.last_message(self.require(thread_id).id)
        if last is None:
            raise NothingToRerun(f"This thread has no message to {'retry' if how == 'retry' else 'answer'}.")
        if last.role != "assistant":
            return None
        if how == "retry" and last.status == MessageStatus.COMPLETE:
            raise LastAnswerComplete(thread_id)
        return last

    def delete(self, thread_id: int, undoable: bool = True) -> ThreadSnapshot | None:
        """Delete the thread; with `undoable`, what `undo_delete` puts back."""
        thread = self.require(thread_id)
        snapshot = self.store.snapshot_thread(thread.id) if undoable else None
        self.store.delete_thread(thread.id)
        return snapshot

    def undo_delete(self, snapshot: ThreadSnapshot) -> Thread:
        """Put a deleted thread back, with its messages, runs, parts and sources.
        Raises StoreError if that cannot be (a thread made since took its id)."""
        return self.store.restore_thread(snapshot)

    def rename(self, thread_id: int, name: str) -> Thread:
        name = name.strip()
        if not name:
            raise UserFacingError("A thread's name cannot be empty.")
        return self.store.rename_thread(self.require(thread_id).id, name)

    def fork_for_edit(self, thread_id: int, message_id: int) -> Thread:
        """A new thread with the messages before `message_id`; the original stays."""
        thread = self.require(thread_id)
        return self.store.fork_thread(thread.id, message_id, name=f"{thread.name} (edited)")

    def export(self, thread_id: int, fmt: str = "md") -> str:
        self.require(thread_id)
        return export_thread(self.store, thread_id, fmt)

    def export_to_file(self, thread_id: int, name: str, fmt: str | None = None) -> Path:
        """Write the export where `export_target` says (the file always ends in its format's
        extension) and return that path. Raises OSError if it cannot be written."""
        if fmt is not None and fmt not in EXPORT_FORMATS:
            raise UserFacingError(f"An export is md or json, not {fmt!r}.")
        path, fmt = export_target(name, fmt)
        text = self.export(thread_id, fmt)
        path.write_text(text + "\n", encoding="utf-8")
        return path

    def purge_expired(self, open_thread: int | None) -> tuple[int, bool]:
        """Delete the threads whose TTL passed: how many, and whether `open_thread` went with them."""
        purged = self.store.purge_expired()
        gone = bool(purged) and open_thread is not None and self.store.get_thread(open_thread) is None
        return purged, gone
