"""The store: assistants, threads, messages and runs in one SQLite file.

Synchronous on purpose: every call is a sub-millisecond query, cheaper than a
thread hop; heavy callers may use `anyio.to_thread`. No UI, no SDK in here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from yachat.store import records
from yachat.store.assistants import AssistantStore
from yachat.store.cloud_copies import CloudCopyStore
from yachat.store.db import Database
from yachat.store.errors import StoreError, must
from yachat.store.knowledge import KnowledgeStore, Passage, insert_sources
from yachat.store.models import (
    ExpirationPolicy,
    Message,
    MessageStatus,
    Run,
    SearchHit,
    Thread,
)
from yachat.store.parts import PartStore, insert_parts
from yachat.store.responses import ResponseStore
from yachat.store.runs import RunStore
from yachat.store.search import search

DAY = 86400.0


@dataclass(frozen=True)
class ThreadSnapshot:
    """A deleted thread's rows, to put back for undo."""

    thread: Thread
    messages: tuple[Message, ...]
    runs: tuple[Run, ...]
    # run id -> the passages it was given (the [n] sources under its answer)
    sources: dict[int, list[Passage]]


def _insert_records(conn: sqlite3.Connection, table: str, rows: Sequence[Thread | Run | Message]) -> None:
    """Put records back as they were read: every field is its column (see `records`), so a
    column added later is restored without touching this."""
    if not rows:
        return
    names = [f.name for f in fields(rows[0]) if f.name != "parts"]  # parts are rows of their own
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [tuple(getattr(row, n) for n in names) for row in rows],
    )


class Store(AssistantStore, RunStore, KnowledgeStore, PartStore, ResponseStore, CloudCopyStore):
    def __init__(self, db: Database) -> None:
        self._db = db
        self.path = db.path
        self._held = {}

    @classmethod
    def open(cls, path: Path) -> Store:
        store = cls(Database(Path(path)))
        store._ensure_default_assistant()
        return store

    def close(self) -> None:
        self.release_runs()
        self._db.close()

    def integrity_check(self) -> str:
        return str(self._db.read("PRAGMA integrity_check")[0][0])

    # -- threads -------------------------------------------------------------

    def create_thread(
        self,
        name: str,
        assistant_id: int | None = None,
        ttl_days: int | None = None,
        expiration_policy: ExpirationPolicy = ExpirationPolicy.STATIC,
    ) -> Thread:
        now = time.time()
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO threads (name, assistant_id, created_at, updated_at, ttl_days,"
                " expiration_policy) VALUES (?, ?, ?, ?, ?, ?)",
                (name, assistant_id, now, now, ttl_days, str(expiration_policy)),
            )
        return must(self.get_thread(int(cur.lastrowid or 0)))

    def get_thread(self, thread_id: int) -> Thread | None:
        rows = self._db.read("SELECT * FROM threads WHERE id = ?", (thread_id,))
        return records.thread(rows[0]) if rows else None

    def list_threads(self, limit: int | None = None, offset: int = 0) -> list[Thread]:
        rows = self._db.read(
            "SELECT * FROM threads ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        )
        return [records.thread(r) for r in rows]

    def count_threads(self) -> int:
        return int(self._db.read("SELECT count(*) FROM threads")[0][0])

    def search_threads_by_name(self, query: str, limit: int = 200) -> list[Thread]:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.read(
            "SELECT * FROM threads WHERE name LIKE ? ESCAPE '\\' ORDER BY updated_at DESC, id DESC LIMIT ?",
            (pattern, limit),
        )
        return [records.thread(r) for r in rows]

    def _update_thread(self, thread_id: int, sql: str, params: tuple[Any, ...]) -> Thread:
        with self._db.write() as conn:
            conn.execute(f"UPDATE threads SET {sql} WHERE id = ?", (*params, thread_id))
        thread = self.get_thread(thread_id)
        if thread is None:
            raise StoreError(f"thread {thread_id} does not exist")
        return thread

    def rename_thread(self, thread_id: int, name: str) -> Thread:
        return self._update_thread(thread_id, "name = ?", (name,))

    def set_thread_assistant(self, thread_id: int, assistant_id: int) -> Thread:
        return self._update_thread(thread_id, "assistant_id = ?", (assistant_id,))

    def set_thread_ttl(self, thread_id: int, ttl_days: int | None, policy: ExpirationPolicy) -> Thread:
        return self._update_thread(thread_id, "ttl_days = ?, expiration_policy = ?", (ttl_days, str(policy)))

    def delete_thread(self, thread_id: int) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))

    def snapshot_thread(self, thread_id: int) -> ThreadSnapshot:
        thread = self.get_thread(thread_id)
        if thread is None:
            raise StoreError(f"thread {thread_id} does not exist")
        return ThreadSnapshot(
            thread,
            tuple(self.with_parts(self.list_messages(thread_id))),
            tuple(self.list_runs(thread_id)),
            self.thread_sources(thread_id),
        )

    def restore_thread(self, snapshot: ThreadSnapshot) -> Thread:
        with self._db.write() as conn:
            # Parents first: runs reference the thread, messages and sources the runs.
            _insert_records(conn, "threads", [snapshot.thread])
            _insert_records(conn, "runs", snapshot.runs)
            _insert_records(conn, "messages", snapshot.messages)
            for message in snapshot.messages:
                if message.parts:
                    insert_parts(conn, message.id, message.parts)
            for run_id, passages in snapshot.sources.items():
                insert_sources(conn, run_id, passages)
        return must(self.get_thread(snapshot.thread.id))

    def fork_thread(self, thread_id: int, before_message_id: int, name: str | None = None) -> Thread:
        source = self.get_thread(thread_id)
        if source is None:
            raise StoreError(f"thread {thread_id} does not exist")
        now = time.time()
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO threads (name, assistant_id, created_at, updated_at, ttl_days,"
                " expiration_policy) VALUES (?, ?, ?, ?, ?, ?)",
                (name or source.name, source.assistant_id, now, now, source.ttl_days,
                 str(source.expiration_policy)),
            )  # fmt: skip
            new_id = int(cur.lastrowid or 0)
            originals = conn.execute(
                "SELECT id, role, text, status, created_at, reasoning, part_count FROM messages"
                " WHERE thread_id = ? AND id < ? ORDER BY id",
                (thread_id, before_message_id),
            ).fetchall()
            for old_id, role, text, status, created_at, reasoning, part_count in originals:
                copied = conn.execute(
                    "INSERT INTO messages (thread_id, role, text, status, created_at, run_id, reasoning)"
                    " VALUES (?, ?, ?, ?, ?, NULL, ?)",
                    (new_id, role, text, status, created_at, reasoning),
                )
                if part_count:
                    # Tool calls and results go with the answer: a later turn re-sends them.
                    conn.execute(
                        "INSERT INTO message_parts SELECT ?, position, kind, text, call_id, tool, server,"
                        " arguments, status, is_error, duration_s, truncated_tokens FROM message_parts"
                        " WHERE message_id = ?",
                        (copied.lastrowid, old_id),
                    )
                    conn.execute(
                        "UPDATE messages SET part_count = ? WHERE id = ?", (part_count, copied.lastrowid)
                    )
        return must(self.get_thread(new_id))

    def purge_expired(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM threads WHERE ttl_days IS NOT NULL AND ("
                " (expiration_policy = 'static' AND created_at + ttl_days * ? <= ?)"
                " OR (expiration_policy = 'since_last_active' AND updated_at + ttl_days * ? <= ?))",
                (DAY, now, DAY, now),
            )
        return cur.rowcount

    # -- messages ------------------------------------------------------------

    def add_message(
        self,
        thread_id: int,
        role: str,
        text: str,
        status: MessageStatus = MessageStatus.COMPLETE,
        run_id: int | None = None,
    ) -> Message:
        now = time.time()
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO messages (thread_id, role, text, status, created_at, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, role, text, str(status), now, run_id),
            )
            conn.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now, thread_id))
        return must(self.get_message(int(cur.lastrowid or 0)))

    def get_message(self, message_id: int) -> Message | None:
        rows = self._db.read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return records.message(rows[0]) if rows else None

    def list_messages(self, thread_id: int) -> list[Message]:
        """The thread's messages, oldest first; an answer whose process died is settled first."""
        self.settle_dead_runs(thread_id)
        rows = self._db.read("SELECT * FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [records.message(r) for r in rows]

    def message_page(self, thread_id: int, limit: int, before_id: int | None = None) -> list[Message]:
        """Up to `limit` of the thread's messages older than `before_id` (else the newest),
        oldest first: a long thread is read a page at a time, newest page first."""
        rows = self._db.read(
            "SELECT * FROM messages WHERE thread_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (thread_id, before_id if before_id is not None else 2**62, limit),
        )
        return [records.message(r) for r in reversed(rows)]

    def messages_since(self, thread_id: int, first_id: int) -> list[Message]:
        """The thread's messages from `first_id` on, oldest first."""
        rows = self._db.read(
            "SELECT * FROM messages WHERE thread_id = ? AND id >= ? ORDER BY id", (thread_id, first_id)
        )
        return [records.message(r) for r in rows]

    def count_messages(self, thread_id: int, before_id: int) -> int:
        rows = self._db.read(
            "SELECT count(*) FROM messages WHERE thread_id = ? AND id < ?", (thread_id, before_id)
        )
        return int(rows[0][0])

    def message_window(self, thread_id: int, offset: int, limit: int) -> list[Message]:
        """The thread's messages at positions `offset` to `offset + limit` (0 is the oldest),
        oldest first: a view of a long thread reads only what it shows."""
        # The position is found on the covering (thread_id, id) index alone, then the rows
        # are read from there: no row before the window is read.
        rows = self._db.read(
            "SELECT * FROM messages WHERE thread_id = ?1 AND id >= (SELECT id FROM messages"
            " WHERE thread_id = ?1 ORDER BY id LIMIT 1 OFFSET ?2) ORDER BY id LIMIT ?3",
            (thread_id, max(0, offset), max(0, limit)),
        )
        return [records.message(r) for r in rows]

    def thread_length(self, thread_id: int) -> int:
        rows = self._db.read("SELECT count(*) FROM messages WHERE thread_id = ?", (thread_id,))
        return int(rows[0][0])

    def count_history(self, thread_id: int, before_id: int, skipped: tuple[str, ...] = ()) -> int:
        """How many user and assistant messages with text, not in status `skipped`, come
        before `before_id`."""
        marks = ",".join("?" * len(skipped)) or "NULL"
        rows = self._db.read(
            "SELECT count(*) FROM messages WHERE thread_id = ? AND id < ? AND role IN ('user', 'assistant')"
            f" AND trim(text, ' ' || char(9, 10, 13)) != '' AND status NOT IN ({marks})",
            (thread_id, before_id, *skipped),
        )
        return int(rows[0][0])

    def last_message(self, thread_id: int, role: str | None = None) -> Message | None:
        if role is None:
            rows = self._db.read(
                "SELECT * FROM messages WHERE thread_id = ? ORDER BY id DESC LIMIT 1", (thread_id,)
            )
        else:
            rows = self._db.read(
                "SELECT * FROM messages WHERE thread_id = ? AND role = ? ORDER BY id DESC LIMIT 1",
                (thread_id, role),
            )
        return records.message(rows[0]) if rows else None

    def update_message(
        self,
        message_id: int,
        text: str | None = None,
        status: MessageStatus | None = None,
        run_id: int | None = None,
        reasoning: str | None = None,
    ) -> None:
        sets, params = [], []
        for column, value in (
            ("text", text),
            ("status", status),
            ("run_id", run_id),
            ("reasoning", reasoning),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(str(value) if column == "status" else value)
        if text is not None:
            sets.append("token_count = NULL")  # counted for the old text
        if not sets:
            return
        with self._db.write() as conn:
            conn.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*params, message_id))

    def set_token_counts(self, model: str, counts: dict[int, int]) -> None:
        """Remember how many tokens `model` counts in each message alone."""
        if not counts:
            return
        with self._db.write() as conn:
            conn.executemany(
                "UPDATE messages SET token_count = ?, token_model = ? WHERE id = ?",
                [(n, model, message_id) for message_id, n in counts.items()],
            )

    def delete_message(self, message_id: int) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    # -- search --------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        return search(self._db, query, limit)
