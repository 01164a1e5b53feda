"""Runs: one streamed generation each, with status, usage and timings."""

from __future__ import annotations

import os
import time

from yachat.pids import pid_alive
from yachat.store import records
from yachat.store.db import Database
from yachat.store.errors import must
from yachat.store.models import MessageStatus, Run, RunStatus


class RunStore:
    _db: Database

    def create_run(self, thread_id: int, assistant_id: int | None, model_uri: str) -> Run:
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO runs (thread_id, assistant_id, model_uri, status, started_at, owner_pid)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (thread_id, assistant_id, model_uri, str(RunStatus.IN_PROGRESS), time.time(), os.getpid()),
            )
        return must(self.get_run(int(cur.lastrowid or 0)))

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
        return must(self.get_run(run_id))

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


def _alive(pid: int | None) -> bool:
    # Our own pid at open time can only be a leftover of an earlier process that had it.
    return bool(pid) and pid != os.getpid() and pid_alive(pid)  # type: ignore[arg-type]
