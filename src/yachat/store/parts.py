"""The parts of answers that are more than text: tool calls, their results, notices.

An answer's parts are written whole each time they change (a few dozen rows at
most, written a few times a second at most), so what is stored is always one
consistent picture of the answer, whatever moment the process dies at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace

from yachat.store import records
from yachat.store.db import Database
from yachat.store.models import Message, Part, SearchHit

_COLUMNS = (
    "message_id, position, kind, text, call_id, tool, server, arguments, status,"
    " is_error, duration_s, truncated_tokens"
)


def insert_parts(conn: sqlite3.Connection, message_id: int, parts: Sequence[Part]) -> None:
    conn.execute("DELETE FROM message_parts WHERE message_id = ?", (message_id,))
    conn.executemany(
        f"INSERT INTO message_parts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                message_id,
                position,
                str(p.kind),
                p.text,
                p.call_id,
                p.tool,
                p.server,
                p.arguments,
                str(p.status) if p.status else None,
                int(p.is_error),
                p.duration_s,
                p.truncated_tokens,
            )
            for position, p in enumerate(parts)
        ],
    )
    conn.execute("UPDATE messages SET part_count = ? WHERE id = ?", (len(parts), message_id))


class PartStore:
    _db: Database

    def save_parts(self, message_id: int, parts: Sequence[Part]) -> None:
        with self._db.write() as conn:
            insert_parts(conn, message_id, parts)

    def parts_of(self, message_ids: Iterable[int]) -> dict[int, tuple[Part, ...]]:
        ids = list(message_ids)
        found: dict[int, list[Part]] = {}
        # SQLite takes up to 32,766 variables a statement; a page of history is 200.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._db.read(
                f"SELECT * FROM message_parts WHERE message_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY message_id, position",
                tuple(chunk),
            )
            for r in rows:
                found.setdefault(r["message_id"], []).append(records.part(r))
        return {k: tuple(v) for k, v in found.items()}

    def with_parts(self, messages: Sequence[Message]) -> list[Message]:
        """The messages, those with stored parts carrying them."""
        wanted = [m.id for m in messages if m.part_count]
        if not wanted:
            return list(messages)
        parts = self.parts_of(wanted)
        return [replace(m, parts=parts.get(m.id, ())) if m.part_count else m for m in messages]

    def search_tool_output(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Calls whose arguments or results hold `query` (case-insensitive, as typed): tool
        output is kept out of the message index, and searched only when asked for."""
        needle = query.strip()
        if not needle:
            return []
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.read(
            "SELECT p.message_id, p.kind, p.tool, p.text, p.arguments, m.thread_id, m.created_at, t.name"
            " FROM message_parts p JOIN messages m ON m.id = p.message_id"
            " JOIN threads t ON t.id = m.thread_id"
            " WHERE p.kind IN ('tool_call', 'tool_result')"
            " AND (p.text LIKE ? ESCAPE '\\' OR p.arguments LIKE ? ESCAPE '\\')"
            " ORDER BY p.message_id DESC LIMIT ?",
            (pattern, pattern, limit),
        )
        hits = []
        for r in rows:
            source = r["text"] if r["kind"] == "tool_result" else (r["arguments"] or "")
            at = source.lower().find(needle.lower())
            start = max(0, at - 40)
            snippet = (
                source[start:at]
                + "\x02"
                + source[at : at + len(needle)]
                + "\x03"
                + source[at + len(needle) : at + len(needle) + 60]
                if at >= 0
                else source[:100]
            )
            hits.append(
                SearchHit(
                    message_id=r["message_id"],
                    thread_id=r["thread_id"],
                    thread_name=r["name"],
                    role=f"tool {r['tool']}",
                    snippet=snippet,
                    created_at=r["created_at"],
                )
            )
        return hits

    # -- what the user answered "always" to, per assistant ----------------------

    def tool_permissions(self, assistant_id: int) -> dict[str, str]:
        rows = self._db.read(
            "SELECT tool, decision FROM tool_permissions WHERE assistant_id = ?", (assistant_id,)
        )
        return {r["tool"]: r["decision"] for r in rows}

    def set_tool_permission(self, assistant_id: int, tool: str, decision: str | None) -> None:
        """`decision` "allow" or "deny" for every call of `tool` ("server/name"); None forgets it."""
        with self._db.write() as conn:
            if decision is None:
                conn.execute(
                    "DELETE FROM tool_permissions WHERE assistant_id = ? AND tool = ?", (assistant_id, tool)
                )
            else:
                conn.execute(
                    "INSERT INTO tool_permissions (assistant_id, tool, decision) VALUES (?, ?, ?)"
                    " ON CONFLICT (assistant_id, tool) DO UPDATE SET decision = excluded.decision",
                    (assistant_id, tool, decision),
                )
