"""Runs: one streamed generation each, with status, usage, timings, how its
prompt was fitted, and the lock that says its streaming process still lives."""

from __future__ import annotations

import time
from collections.abc import Iterable

from yachat.store import records
from yachat.store.db import Database
from yachat.store.errors import StoreError, must
from yachat.store.models import MessageStatus, Run, RunStatus
from yachat.store.run_locks import HeldLock, lock_dir, owner_alive, remove_stale

INTERRUPTED_ERROR = "yachat stopped while this answer streamed; retry."


class RunStore:
    _db: Database
    _held: dict[int, HeldLock]  # runs this process streams: their locks

    def create_run(
        self, thread_id: int, assistant_id: int | None, model_uri: str, transport: str | None = None
    ) -> Run:
        """A new run, in progress and owned by this process until `finish_run`."""
        # The lock is taken before the row exists, so no reader ever sees the run unowned.
        try:
            lock = HeldLock.acquire()
        except OSError as exc:
            raise StoreError(
                f"cannot lock the answer in {lock_dir()}: {exc.strerror or exc}; check that it is writable."
            ) from exc
        try:
            with self._db.write() as conn:
                cur = conn.execute(
                    "INSERT INTO runs (thread_id, assistant_id, model_uri, status, started_at, owner_lock,"
                    " transport) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (thread_id, assistant_id, model_uri, str(RunStatus.IN_PROGRESS), time.time(),
                     str(lock.path), transport),
                )  # fmt: skip
        except BaseException:
            lock.release()
            raise
        run_id = int(cur.lastrowid or 0)
        self._held[run_id] = lock
        return must(self.get_run(run_id))

    def record_prompt(
        self,
        run_id: int,
        *,
        prompt_tokens: int | None,
        prompt_budget: int | None,
        omitted_messages: int,
        first_sent_message_id: int | None,
    ) -> None:
        """What the run sent: the fitted prompt's size and which messages it left out."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE runs SET prompt_tokens = ?, prompt_budget = ?, omitted_messages = ?,"
                " first_sent_message_id = ? WHERE id = ?",
                (prompt_tokens, prompt_budget, omitted_messages, first_sent_message_id, run_id),
            )

    def get_run(self, run_id: int) -> Run | None:
        rows = self._db.read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return records.run(rows[0]) if rows else None

    def list_runs(self, thread_id: int, since_id: int = 0) -> list[Run]:
        """The thread's runs (from `since_id` on), oldest first."""
        rows = self._db.read(
            "SELECT * FROM runs WHERE thread_id = ? AND id >= ? ORDER BY id", (thread_id, since_id)
        )
        return [records.run(r) for r in rows]

    def get_runs(self, run_ids: Iterable[int]) -> list[Run]:
        ids = list(run_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._db.read(f"SELECT * FROM runs WHERE id IN ({marks}) ORDER BY id", tuple(ids))
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
        answered_by: str | None = None,
        finish_reason: str | None = None,
        reasoning_tokens: int | None = None,
    ) -> Run:
        try:
            with self._db.write() as conn:
                conn.execute(
                    "UPDATE runs SET status = ?, error = ?, input_tokens = ?, completion_tokens = ?,"
                    " total_tokens = ?, model_version = ?, first_chunk_s = ?, tokens_per_s = ?,"
                    " answered_by = ?, finish_reason = ?, reasoning_tokens = ?, finished_at = ? WHERE id = ?",
                    (str(status), error, input_tokens, completion_tokens, total_tokens, model_version,
                     first_chunk_s, tokens_per_s, answered_by, finish_reason, reasoning_tokens, time.time(),
                     run_id),
                )  # fmt: skip
        finally:
            # Only now that the row says how it ended: a reader that takes the lock
            # from here on finds the run finished, not dead.
            lock = self._held.pop(run_id, None)
            if lock is not None:
                lock.release()
        return must(self.get_run(run_id))

    def release_runs(self) -> None:
        """Let go of every run this process still holds (the store is closing):
        the next reader settles them as interrupted."""
        held, self._held = self._held, {}
        for lock in held.values():
            lock.release()

    def settle_dead_runs(self, thread_id: int | None = None) -> int:
        """Runs in progress whose streaming process is gone become `interrupted`.

        Called before anything shows runs or messages, so an answer whose owner
        died is never shown as streaming. A run a live process streams (this
        one included) is left alone. Returns how many runs were settled.
        """
        sql = "SELECT id, owner_lock FROM runs WHERE status = ?"
        params: tuple[object, ...] = (str(RunStatus.IN_PROGRESS),)
        if thread_id is not None:
            sql += " AND thread_id = ?"
            params += (thread_id,)
        rows = self._db.read(sql, params)
        dead = [(r["id"], r["owner_lock"]) for r in rows if not owner_alive(r["owner_lock"])]
        if not dead:
            return 0
        ids = [run_id for run_id, _ in dead]
        marks = ",".join("?" * len(ids))
        with self._db.write() as conn:
            # Re-checked in the write: a run that finished meanwhile keeps its ending.
            cur = conn.execute(
                "UPDATE runs SET status = ?, error = ?, finished_at = ?"
                f" WHERE status = ? AND id IN ({marks})",
                (
                    str(RunStatus.INTERRUPTED),
                    INTERRUPTED_ERROR,
                    time.time(),
                    str(RunStatus.IN_PROGRESS),
                    *ids,
                ),
            )
            conn.execute(
                f"UPDATE messages SET status = ? WHERE status = ? AND run_id IN ({marks})",
                (str(MessageStatus.INTERRUPTED), str(MessageStatus.STREAMING), *ids),
            )
        for _, path in dead:
            remove_stale(path)
        return cur.rowcount

    def mark_interrupted(self) -> int:
        return self.settle_dead_runs()

    def usage_totals(self, thread_id: int) -> tuple[int, int, int]:
        row = self._db.read(
            "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(completion_tokens), 0),"
            " coalesce(sum(total_tokens), 0) FROM runs WHERE thread_id = ?",
            (thread_id,),
        )[0]
        return int(row[0]), int(row[1]), int(row[2])
