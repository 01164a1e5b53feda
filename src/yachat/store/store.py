"""The store: assistants, threads, messages and runs in one SQLite file.

Synchronous on purpose: every call is a sub-millisecond query, cheaper than a
thread hop; heavy callers may use `anyio.to_thread`. No UI, no SDK in here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yachat.pids import pid_alive
from yachat.store import records
from yachat.store.db import Database
from yachat.store.errors import StoreError
from yachat.store.models import (
    Assistant,
    ExpirationPolicy,
    Message,
    MessageStatus,
    Run,
    RunStatus,
    SearchHit,
    Thread,
)
from yachat.store.search import search

DAY = 86400.0
DEFAULT_ASSISTANT = {
    "name": "Default",
    "model": "yandexgpt/latest",
    "instruction": "You are a helpful assistant.",
    "temperature": 0.3,
    "max_tokens": 2000,
}
_ASSISTANT_FIELDS = (
    "name",
    "model",
    "instruction",
    "temperature",
    "max_tokens",
    "keep_last_messages",
    "prompt_token_budget",
)


@dataclass(frozen=True)
class ThreadSnapshot:
    """A deleted thread's rows, to put back for undo."""

    thread: Thread
    messages: tuple[Message, ...]
    runs: tuple[Run, ...]


class Store:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.path = db.path

    @classmethod
    def open(cls, path: Path) -> Store:
        store = cls(Database(Path(path)))
        store._ensure_default_assistant()
        return store

    def close(self) -> None:
        self._db.close()

    def integrity_check(self) -> str:
        return str(self._db.read("PRAGMA integrity_check")[0][0])

    # -- assistants ----------------------------------------------------------

    def _ensure_default_assistant(self) -> None:
        if self._db.read("SELECT value FROM meta WHERE key = 'default_assistant'"):
            return
        with self._db.write() as conn:
            # Re-check inside the write lock: another process may have just made it.
            if conn.execute("SELECT 1 FROM meta WHERE key = 'default_assistant'").fetchone():
                return
            cur = conn.execute(
                "INSERT INTO assistants (name, model, instruction, temperature, max_tokens, created_at)"
                " VALUES (:name, :model, :instruction, :temperature, :max_tokens, :now)",
                {**DEFAULT_ASSISTANT, "now": time.time()},
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('default_assistant', ?)", (str(cur.lastrowid),)
            )

    def list_assistants(self) -> list[Assistant]:
        return [records.assistant(r) for r in self._db.read("SELECT * FROM assistants ORDER BY id")]

    def get_assistant(self, assistant_id: int) -> Assistant | None:
        rows = self._db.read("SELECT * FROM assistants WHERE id = ?", (assistant_id,))
        return records.assistant(rows[0]) if rows else None

    def default_assistant(self) -> Assistant:
        rows = self._db.read("SELECT value FROM meta WHERE key = 'default_assistant'")
        found = self.get_assistant(int(rows[0][0])) if rows else None
        if found is None:
            assistants = self.list_assistants()
            if not assistants:
                raise StoreError(f"no assistant in {self.path}")
            found = assistants[0]
        return found

    def set_default_assistant(self, assistant_id: int) -> None:
        if self.get_assistant(assistant_id) is None:
            raise StoreError(f"assistant {assistant_id} does not exist")
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('default_assistant', ?)",
                (str(assistant_id),),
            )

    def create_assistant(
        self,
        name: str,
        model: str,
        instruction: str = "",
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_last_messages: int | None = None,
        prompt_token_budget: int | None = None,
    ) -> Assistant:
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO assistants (name, model, instruction, temperature, max_tokens,"
                " keep_last_messages, prompt_token_budget, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    model,
                    instruction,
                    temperature,
                    max_tokens,
                    keep_last_messages,
                    prompt_token_budget,
                    time.time(),
                ),
            )
        return self._must(self.get_assistant(int(cur.lastrowid or 0)))

    def update_assistant(self, assistant_id: int, **fields: Any) -> Assistant:
        unknown = set(fields) - set(_ASSISTANT_FIELDS)
        if unknown:
            raise ValueError(f"unknown assistant fields: {', '.join(sorted(unknown))}")
        if fields:
            sets = ", ".join(f"{k} = :{k}" for k in fields)
            with self._db.write() as conn:
                conn.execute(f"UPDATE assistants SET {sets} WHERE id = :id", {**fields, "id": assistant_id})
        return self._must(self.get_assistant(assistant_id))

    def delete_assistant(self, assistant_id: int) -> None:
        if assistant_id == self.default_assistant().id:
            raise StoreError("the default assistant cannot be deleted; make another the default first")
        with self._db.write() as conn:
            conn.execute("DELETE FROM assistants WHERE id = ?", (assistant_id,))

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
        return self._must(self.get_thread(int(cur.lastrowid or 0)))

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
        return ThreadSnapshot(thread, tuple(self.list_messages(thread_id)), tuple(self.list_runs(thread_id)))

    def restore_thread(self, snapshot: ThreadSnapshot) -> Thread:
        t = snapshot.thread
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO threads (id, name, assistant_id, created_at, updated_at, ttl_days,"
                " expiration_policy) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    t.id,
                    t.name,
                    t.assistant_id,
                    t.created_at,
                    t.updated_at,
                    t.ttl_days,
                    str(t.expiration_policy),
                ),
            )
            conn.executemany(
                "INSERT INTO runs (id, thread_id, assistant_id, model_uri, status, error, input_tokens,"
                " completion_tokens, total_tokens, model_version, started_at, finished_at,"
                " first_chunk_s, tokens_per_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.id, r.thread_id, r.assistant_id, r.model_uri, str(r.status), r.error,
                     r.input_tokens, r.completion_tokens, r.total_tokens, r.model_version,
                     r.started_at, r.finished_at, r.first_chunk_s, r.tokens_per_s)
                    for r in snapshot.runs
                ],
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO messages (id, thread_id, role, text, status, created_at, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (m.id, m.thread_id, m.role, m.text, str(m.status), m.created_at, m.run_id)
                    for m in snapshot.messages
                ],
            )
        return self._must(self.get_thread(t.id))

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
            conn.execute(
                "INSERT INTO messages (thread_id, role, text, status, created_at, run_id)"
                " SELECT ?, role, text, status, created_at, NULL FROM messages"
                " WHERE thread_id = ? AND id < ? ORDER BY id",
                (new_id, thread_id, before_message_id),
            )
        return self._must(self.get_thread(new_id))

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
        return self._must(self.get_message(int(cur.lastrowid or 0)))

    def get_message(self, message_id: int) -> Message | None:
        rows = self._db.read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return records.message(rows[0]) if rows else None

    def list_messages(self, thread_id: int) -> list[Message]:
        rows = self._db.read("SELECT * FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [records.message(r) for r in rows]

    def count_messages(self, thread_id: int) -> int:
        return int(self._db.read("SELECT count(*) FROM messages WHERE thread_id = ?", (thread_id,))[0][0])

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
    ) -> None:
        sets, params = [], []
        for column, value in (("text", text), ("status", status), ("run_id", run_id)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(str(value) if column == "status" else value)
        if not sets:
            return
        with self._db.write() as conn:
            conn.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*params, message_id))

    def delete_message(self, message_id: int) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    # -- runs ----------------------------------------------------------------

    def create_run(self, thread_id: int, assistant_id: int | None, model_uri: str) -> Run:
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (thread_id, assistant_id, model_uri, status, started_at, owner_pid)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, assistant_id, model_uri, str(RunStatus.IN_PROGRESS), time.time(), os.getpid()),
            )
        return self._must(self.get_run(int(cur.lastrowid or 0)))

    def get_run(self, run_id: int) -> Run | None:
        rows = self._db.read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return records.run(rows[0]) if rows else None

    def list_runs(self, thread_id: int) -> list[Run]:
        rows = self._db.read("SELECT * FROM runs WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [records.run(r) for r in rows]

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        error: str | None = None,
        input_tokens: int | None = None,
        completion_tokens: int | None = None,
        total_tokens: int | None = None,
        model_version: str | None = None,
        first_chunk_s: float | None = None,
        tokens_per_s: float | None = None,
    ) -> Run:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, error = ?, input_tokens = ?, completion_tokens = ?,"
                " total_tokens = ?, model_version = ?, first_chunk_s = ?, tokens_per_s = ?,"
                " finished_at = ? WHERE id = ?",
                (str(status), error, input_tokens, completion_tokens, total_tokens, model_version,
                 first_chunk_s, tokens_per_s, time.time(), run_id),
            )  # fmt: skip
        return self._must(self.get_run(run_id))

    def mark_interrupted(self) -> int:
        """Runs left in progress by a process that died become `interrupted`.

        A run another live yachat is streaming right now is left alone.
        """
        rows = self._db.read("SELECT id, owner_pid FROM runs WHERE status = ?", (str(RunStatus.IN_PROGRESS),))
        dead = [r["id"] for r in rows if not _alive(r["owner_pid"])]
        if not dead:
            return 0
        marks = ",".join("?" * len(dead))
        with self._db.write() as conn:
            conn.execute(
                f"UPDATE messages SET status = ? WHERE status = ? AND run_id IN ({marks})",
                (str(MessageStatus.INTERRUPTED), str(MessageStatus.STREAMING), *dead),
            )
            conn.execute(
                f"UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id IN ({marks})",
                (
                    str(RunStatus.INTERRUPTED),
                    "yachat stopped while this answer streamed; press Retry.",
                    time.time(),
                    *dead,
                ),
            )
        return len(dead)

    def usage_totals(self, thread_id: int) -> tuple[int, int, int]:
        row = self._db.read(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(completion_tokens), 0),"
            " coalesce(sum(total_tokens), 0) FROM runs WHERE thread_id = ?",
            (thread_id,),
        )[0]
        return int(row[0]), int(row[1]), int(row[2])

    # -- search --------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        return search(self._db, query, limit)

    @staticmethod
    def _must(value: Any) -> Any:
        if value is None:
            raise StoreError("a row just written could not be read back")
        return value


def _alive(pid: int | None) -> bool:
    # Our own pid at open time can only be a leftover of an earlier process that had it.
    return bool(pid) and pid != os.getpid() and pid_alive(pid)  # type: ignore[arg-type]
