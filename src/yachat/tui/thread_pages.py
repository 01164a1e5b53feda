"""A thread's messages by position, read from the store a window at a time.

The message pane asks for the few messages it mounts; a thread of 50,000
messages is never read whole. Positions count from the oldest message (0).
"""

from __future__ import annotations

from typing import Protocol

from yachat.store import Store
from yachat.store.models import Message, Run


class ThreadPages(Protocol):
    def count(self) -> int: ...

    def read(self, offset: int, limit: int) -> tuple[list[Message], list[Run]]:
        """Messages `offset` to `offset + limit`, oldest first, with their runs (thread-safe)."""
        ...

    def position(self, message_id: int) -> int | None:
        """Where the message is in the thread; None if it is not the thread's."""
        ...

    def last_id(self) -> int:
        """The id of the thread's newest message (0 if none)."""
        ...

    def latest_runs(self) -> list[Run]:
        """The run of the thread's newest answer: where its prompt was cut."""
        ...


class StorePages:
    def __init__(self, store: Store, thread_id: int) -> None:
        self.store = store
        self.thread_id = thread_id

    def count(self) -> int:
        return self.store.thread_length(self.thread_id)

    def read(self, offset: int, limit: int) -> tuple[list[Message], list[Run]]:
        store = self.store
        messages = store.with_parts(store.message_window(self.thread_id, offset, limit))
        return messages, store.get_runs({m.run_id for m in messages if m.run_id})

    def position(self, message_id: int) -> int | None:
        message = self.store.get_message(message_id)
        if message is None or message.thread_id != self.thread_id:
            return None
        return self.store.count_messages(self.thread_id, message_id)

    def last_id(self) -> int:
        last = self.store.last_message(self.thread_id)
        return last.id if last is not None else 0

    def latest_runs(self) -> list[Run]:
        last = self.store.last_message(self.thread_id, role="assistant")
        return self.store.get_runs({last.run_id}) if last is not None and last.run_id else []
