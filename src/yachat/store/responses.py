"""The Responses API's stored responses a thread's runs ended with (schema V7).

A row says: run R's answer (message A) is the end of response X, stored at endpoint E,
made with the assistant's fingerprint F, when the thread had N messages up to A. The
next run of the thread may chain on X only while all of that still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from yachat.store.db import Database


@dataclass(frozen=True)
class StoredResponse:
    run_id: int
    response_id: str
    endpoint: str
    fingerprint: str
    answer_id: int
    covered: int  # the thread's messages up to and with the answer, when it was recorded
    context_tokens: int | None


class ResponseStore:
    _db: Database

    def record_response(
        self,
        run_id: int,
        *,
        response_id: str,
        endpoint: str,
        fingerprint: str,
        answer_id: int,
        context_tokens: int | None,
    ) -> None:
        with self._db.write() as conn:
            row = conn.execute("SELECT thread_id FROM messages WHERE id = ?", (answer_id,)).fetchone()
            if row is None:  # the answer was deleted while it was stored: nothing to chain on
                return
            thread_id = row[0]
            covered = conn.execute(
                "SELECT count(*) FROM messages WHERE thread_id = ? AND id <= ?", (thread_id, answer_id)
            ).fetchone()[0]
            conn.execute(
                "INSERT OR REPLACE INTO run_responses (run_id, thread_id, response_id, endpoint,"
                " fingerprint, answer_id, covered, context_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, thread_id, response_id, endpoint, fingerprint, answer_id, covered, context_tokens),
            )

    def chain_point(self, thread_id: int, before_run: int) -> StoredResponse | None:
        """The response the thread's last run before `before_run` ended with, if that run
        recorded one and the thread up to its answer is as it was then (no message deleted
        before it, its answer still there). A later run that recorded nothing (a failed,
        cancelled or regenerated answer, another transport) means there is none."""
        with self._db.reading() as read:
            last = read("SELECT max(id) FROM runs WHERE thread_id = ? AND id < ?", (thread_id, before_run))
            last_run = last[0][0] if last else None
            if last_run is None:
                return None
            rows = read(
                "SELECT run_id, response_id, endpoint, fingerprint, answer_id, covered, context_tokens"
                " FROM run_responses WHERE run_id = ? AND thread_id = ?",
                (last_run, thread_id),
            )
            if not rows:
                return None
            stored = StoredResponse(*tuple(rows[0]))
            now = read(
                "SELECT count(*) FROM messages WHERE thread_id = ? AND id <= ?", (thread_id, stored.answer_id)
            )[0][0]
            there = read(
                "SELECT 1 FROM messages WHERE id = ? AND thread_id = ? AND status = 'complete'",
                (stored.answer_id, thread_id),
            )
        return stored if there and now == stored.covered else None
