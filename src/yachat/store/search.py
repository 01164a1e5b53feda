"""Full-text search: any text a user types becomes a safe FTS5 query."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable

from yachat.store.db import Database, Params
from yachat.store.models import SearchHit

_WORD = re.compile(r"\w+", re.UNICODE)
# A word FTS5's tokenizer (unicode61) keeps whole and only lower-cases: its folded form is
# known here without asking SQLite.
_PLAIN_WORD = re.compile(r"[0-9A-Za-z]+", re.ASCII)

Read = Callable[[str, Params], list[sqlite3.Row]]


def fts_query(text: str) -> str | None:
    """Each word quoted (so FTS5 syntax in it is plain text), the last one a prefix.

    `"foo" "bar"*` matches messages holding foo and a word starting with bar, as
    the user types. Returns None when there is nothing to search for.
    """
    return _phrases(_WORD.findall(text), last=None)


def _phrases(words: list[str], last: str | None) -> str | None:
    """The words quoted; the last one a prefix, or replaced by the exact term `last`."""
    if not words:
        return None
    quoted = [f'"{w}"' for w in words[:-1]]
    quoted.append(f'"{words[-1]}"*' if last is None else '"' + last.replace('"', '""') + '"')
    return " ".join(quoted)


def sole_completion(read: Read, prefix: str) -> str | None:
    """The one term of the message index that starts with `prefix`, if exactly one does.

    Reads at most two rows of the index's term list (`temp.message_terms`): the first
    term from `prefix` on, then the first one after it (`term + NUL` is the next
    possible term in the index's byte order).
    """
    first = read("SELECT term FROM temp.message_terms WHERE term >= ? LIMIT 1", (prefix,))
    if not first or not first[0][0].startswith(prefix):
        return None
    term: str = first[0][0]
    after = read("SELECT term FROM temp.message_terms WHERE term >= ? LIMIT 1", (term + "\x00",))
    if after and after[0][0].startswith(prefix):
        return None
    return term


def _resolved(read: Read, text: str) -> str | None:
    """fts_query(text), its last word made exact when only one indexed term starts with it.

    The two queries match the same messages with the same bm25 score and the same
    highlights, but FTS5 answers a prefix by merging the matching terms' lists of
    every message (each time a cursor opens: three times per search), which for a
    word in half of 100,000 messages took ~3 ms each.
    """
    words = _WORD.findall(text)
    if not words or not _PLAIN_WORD.fullmatch(words[-1]):
        return _phrases(words, last=None)
    return _phrases(words, last=sole_completion(read, words[-1].lower()))


# Ranking is bm25 over the most recent matches only: a common word can match
# most of a long history, and ranking 50,000 rows took ~40 ms where ranking the
# newest 2,000 takes under 10 ms (measured on 100,000 messages).
RANK_WINDOW = 2000

# bm25 is computed in the same pass that finds the newest matches, and SQLite sorts;
# snippets are made afterwards for the hits shown only. (FTS5's own `ORDER BY rank`
# keeps every row's match positions for the snippets, and the window's bound took a
# cursor of its own: together ~3 ms more for the same rows.) Ties go to the older
# message, as FTS5's ordering left them.
_RANKED = """
    WITH recent AS (
        SELECT rowid AS id, bm25(messages_fts) AS rank FROM messages_fts
        WHERE messages_fts MATCH :q ORDER BY rowid DESC LIMIT :window
    ), hits AS (
        SELECT id, rank FROM recent ORDER BY rank, id LIMIT :limit
    )
    SELECT m.id, m.thread_id, t.name AS thread_name, m.role, m.created_at
    FROM hits
    JOIN messages m ON m.id = hits.id
    JOIN threads t ON t.id = m.thread_id
    ORDER BY hits.rank, hits.id
"""
# `+rowid` keeps the list of ids out of FTS5's hands (it would open a cursor per id);
# the range bounds the scan.
_SNIPPETS = """
    SELECT rowid, snippet(messages_fts, 0, char(2), char(3), '…', 12) FROM messages_fts
    WHERE messages_fts MATCH :q AND rowid BETWEEN :lo AND :hi
      AND +rowid IN (SELECT value FROM json_each(:ids))
"""


def search(db: Database, text: str, limit: int, *, resolve_prefix: bool = True) -> list[SearchHit]:
    with db.reading() as read:
        query = _resolved(read, text) if resolve_prefix else fts_query(text)
        if query is None:
            return []
        rows = read(_RANKED, {"q": query, "window": RANK_WINDOW, "limit": limit})
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        params = {"q": query, "lo": min(ids), "hi": max(ids), "ids": json.dumps(ids)}
        snippets: dict[int, str] = {r[0]: r[1] for r in read(_SNIPPETS, params)}
    return [
        SearchHit(
            message_id=r["id"],
            thread_id=r["thread_id"],
            thread_name=r["thread_name"],
            role=r["role"],
            snippet=snippets[r["id"]],
            created_at=r["created_at"],
        )
        for r in rows
    ]
