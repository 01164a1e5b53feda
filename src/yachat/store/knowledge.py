"""Knowledge in the store: the files and folders an assistant answers from, their
chunks under FTS5 (ranked by BM25), and the passages each run was given."""

from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from yachat.store.db import Database


@dataclass(frozen=True)
class KnowledgeRoot:
    id: int
    assistant_id: int
    path: str
    added_at: float
    files: int  # indexed
    skipped: int
    chunks: int


@dataclass(frozen=True)
class KnowledgeFile:
    id: int
    root_id: int
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    kind: str
    skipped: str | None  # why it is not indexed
    chunks: int


@dataclass(frozen=True)
class ChunkText:
    """A chunk as the indexer writes it."""

    heading: str
    line_start: int
    line_end: int
    text: str


# A run's source found by the model's own web search (the Responses API): `path` is the URL.
WEB_SOURCE = "web"


@dataclass(frozen=True)
class Passage:
    """A chunk found for a question, or one a run was given (then `number` is its [n])."""

    path: str
    kind: str
    heading: str
    line_start: int
    line_end: int
    text: str
    score: float | None = None
    number: int = 0
    chunk_id: int = field(default=0, compare=False)  # 0 in a run's copy

    @property
    def where(self) -> str:
        """file:line, file:12-20, or file:p3 for a PDF's pages; a web page's URL."""
        if self.kind == WEB_SOURCE or self.line_start == 0:  # a page, or a whole file (file_search)
            return self.path
        if self.kind == "pdf":
            span = f"p{self.line_start}" + (f"-{self.line_end}" if self.line_end != self.line_start else "")
        else:
            span = str(self.line_start) + (f"-{self.line_end}" if self.line_end != self.line_start else "")
        return f"{self.path}:{span}"


@dataclass(frozen=True)
class FileRecord:
    """A file as the indexer found it: its chunks (None: keep those stored) or why it is skipped."""

    assistant_id: int
    root_id: int
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    kind: str
    skipped: str | None = None
    chunks: Sequence[ChunkText] | None = None


def _save(conn: sqlite3.Connection, r: FileRecord) -> None:
    row = conn.execute(
        "SELECT id FROM kb_files WHERE assistant_id = ? AND path = ?", (r.assistant_id, r.path)
    ).fetchone()
    count = len(r.chunks) if r.chunks is not None else None
    if row is None:
        cur = conn.execute(
            "INSERT INTO kb_files (assistant_id, root_id, path, size, mtime_ns, sha256, kind,"
            " skipped, chunks, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.assistant_id, r.root_id, r.path, r.size, r.mtime_ns, r.sha256, r.kind, r.skipped, count or 0,
             time.time()),
        )  # fmt: skip
        file_id = int(cur.lastrowid or 0)
    else:
        file_id = int(row[0])
        if r.chunks is not None or r.skipped is not None:
            conn.execute("DELETE FROM kb_chunks WHERE file_id = ?", (file_id,))
            count = count or 0
        conn.execute(
            "UPDATE kb_files SET root_id = ?, size = ?, mtime_ns = ?, sha256 = ?, kind = ?,"
            " skipped = ?, chunks = coalesce(?, chunks), indexed_at = ? WHERE id = ?",
            (r.root_id, r.size, r.mtime_ns, r.sha256, r.kind, r.skipped, count, time.time(), file_id),
        )
    if r.chunks:
        conn.executemany(
            "INSERT INTO kb_chunks (file_id, heading, line_start, line_end, text) VALUES (?, ?, ?, ?, ?)",
            [(file_id, c.heading, c.line_start, c.line_end, c.text) for c in r.chunks],
        )


def insert_sources(conn: sqlite3.Connection, run_id: int, passages: Sequence[Passage]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO run_sources (run_id, number, path, kind, heading, line_start,"
        " line_end, text, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, p.number, p.path, p.kind, p.heading, p.line_start, p.line_end, p.text, p.score)
         for p in passages],
    )  # fmt: skip


def fold(word: str) -> str:
    """A word as FTS5's unicode61 tokenizer (remove_diacritics 2) stores it."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Words as FTS5's unicode61 tokenizer cuts them: letters and digits (an underscore separates).
_TERM = re.compile(r"[^\W_]+")

# A term in more than this share of the chunks says little about any of them (its IDF is
# low) and ranking its postings costs the most: it is left out of the query.
COMMON_SHARE = 0.05
MAX_TERMS = 16
# Words looked up in the index per query: each lookup reads the word's postings.
MAX_CANDIDATES = 24
# Ranking cost grows with the chunks the terms match: past this many postings, the
# remaining (more common) terms are left out. ~10 ms on 100,000 chunks.
POSTINGS_BUDGET = 6000
# Passages scoring under this share of the best one are not worth the prompt's room.
RELEVANCE_FLOOR = 0.3


def _unembedded(embedder: str, assistant_id: int | None) -> tuple[str, tuple[object, ...]]:
    """FROM and WHERE of the chunks (of one assistant, or all) that `embedder` has no vector for."""
    # By the chunk index, which holds the key and not the vectors: through the table's own
    # key, each lookup read pages of vectors (100,000 passages: 400 ms against 27 ms).
    sql = (
        "FROM kb_chunks c JOIN kb_files f ON f.id = c.file_id WHERE NOT EXISTS"
        " (SELECT 1 FROM kb_vectors v INDEXED BY kb_vectors_by_chunk"
        " WHERE v.embedder = ? AND v.chunk_id = c.id)"
    )
    if assistant_id is None:
        return sql, (embedder,)
    return sql + " AND f.assistant_id = ?", (embedder, assistant_id)


class KnowledgeStore:
    _db: Database

    # -- roots and files ---------------------------------------------------

    def add_knowledge_root(self, assistant_id: int, path: str) -> int:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO kb_roots (assistant_id, path, added_at) VALUES (?, ?, ?)",
                (assistant_id, path, time.time()),
            )
            row = conn.execute(
                "SELECT id FROM kb_roots WHERE assistant_id = ? AND path = ?", (assistant_id, path)
            ).fetchone()
        return int(row[0])

    def merge_knowledge_root(self, inner_id: int, outer_id: int) -> None:
        """A folder was added around an added path: its files now belong to the folder."""
        with self._db.write() as conn:
            conn.execute("UPDATE kb_files SET root_id = ? WHERE root_id = ?", (outer_id, inner_id))
            conn.execute("DELETE FROM kb_roots WHERE id = ?", (inner_id,))

    def knowledge_roots(self, assistant_id: int | None = None) -> list[KnowledgeRoot]:
        sql = (
            "SELECT r.id, r.assistant_id, r.path, r.added_at,"
            " count(f.id) FILTER (WHERE f.skipped IS NULL) AS files,"
            " count(f.id) FILTER (WHERE f.skipped IS NOT NULL) AS skipped,"
            " coalesce(sum(f.chunks), 0) AS chunks"
            " FROM kb_roots r LEFT JOIN kb_files f ON f.root_id = r.id"
        )
        params: tuple[object, ...] = ()
        if assistant_id is not None:
            sql += " WHERE r.assistant_id = ?"
            params = (assistant_id,)
        rows = self._db.read(sql + " GROUP BY r.id ORDER BY r.assistant_id, r.path", params)
        return [KnowledgeRoot(*tuple(r)) for r in rows]

    def remove_knowledge_root(self, root_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM kb_chunks WHERE file_id IN (SELECT id FROM kb_files WHERE root_id = ?)",
                (root_id,),
            )
            conn.execute("DELETE FROM kb_files WHERE root_id = ?", (root_id,))
            conn.execute("DELETE FROM kb_roots WHERE id = ?", (root_id,))
        self.count_terms()

    def knowledge_files(self, root_id: int) -> list[KnowledgeFile]:
        rows = self._db.read(
            "SELECT id, root_id, path, size, mtime_ns, sha256, kind, skipped, chunks"
            " FROM kb_files WHERE root_id = ? ORDER BY path",
            (root_id,),
        )
        return [KnowledgeFile(*tuple(r)) for r in rows]

    def has_knowledge(self, assistant_id: int) -> bool:
        return bool(
            self._db.read(
                "SELECT 1 FROM kb_files WHERE assistant_id = ? AND chunks > 0 LIMIT 1", (assistant_id,)
            )
        )

    def save_knowledge_files(self, records: Sequence[FileRecord]) -> None:
        """Write files' rows and, for those with `chunks`, replace their chunks: in one
        transaction, as FTS5 writes a segment per transaction (a file each is 3x slower)."""
        if not records:
            return
        with self._db.write() as conn:
            for record in records:
                _save(conn, record)

    def forget_knowledge_files(self, file_ids: Sequence[int]) -> None:
        if not file_ids:
            return
        marks = ",".join("?" * len(file_ids))
        with self._db.write() as conn:
            conn.execute(f"DELETE FROM kb_chunks WHERE file_id IN ({marks})", tuple(file_ids))
            conn.execute(f"DELETE FROM kb_files WHERE id IN ({marks})", tuple(file_ids))

    # -- retrieval ---------------------------------------------------------

    def query_terms(self, texts: Sequence[str]) -> list[str]:
        """The words worth searching for, from the texts in order (the question first):
        words the index holds, not in most chunks, rarest first, within POSTINGS_BUDGET."""
        candidates: list[dict[str, None]] = []
        seen: set[str] = set()
        for text in texts:
            words: dict[str, None] = {}
            for word in _TERM.findall(text):
                folded = fold(word)
                if (len(folded) > 1 or folded.isdigit()) and folded not in seen:
                    seen.add(folded)
                    words.setdefault(folded, None)
            candidates.append(words)
        lookup = [w for words in candidates for w in words][:MAX_CANDIDATES]
        if not lookup:
            return []
        marks = ",".join("?" * len(lookup))
        rows = self._db.read(f"SELECT term, docs FROM kb_terms WHERE term IN ({marks})", tuple(lookup))
        df = {r[0]: int(r[1]) for r in rows if r[1]}
        total = int(self._db.read("SELECT count(*) FROM kb_chunks")[0][0]) or 1
        common = max(50.0, COMMON_SHARE * total)
        # The question's words first, then each earlier turn's; within each, rarest first.
        ordered = [sorted((w for w in words if df.get(w)), key=lambda w: df[w]) for words in candidates]
        kept: list[str] = []
        postings = 0
        for w in (w for group in ordered for w in group):
            if len(kept) == MAX_TERMS:
                break
            if df[w] > common or (kept and postings + df[w] > POSTINGS_BUDGET):
                continue
            kept.append(w)
            postings += df[w]
        if not kept and df:
            kept = [min(df, key=lambda w: df[w])]  # all of them common: the rarest still says something
        return kept

    def count_terms(self) -> None:
        """Recount how many chunks hold each word, for `query_terms`: after indexing."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM kb_terms")
            conn.execute("INSERT INTO kb_terms (term, docs) SELECT term, doc FROM kb_vocab")

    def retrieve(self, assistant_id: int, texts: Sequence[str], limit: int = 6) -> list[Passage]:
        """The assistant's chunks that best match the texts, best first (BM25)."""
        terms = self.query_terms(texts)
        if not terms:
            return []
        query = " OR ".join(f'"{t}"' for t in terms)
        rows = self._db.read(
            "SELECT f.path, f.kind, c.heading, c.line_start, c.line_end, c.text, kb_chunks_fts.rank, 0, c.id"
            " FROM kb_chunks_fts JOIN kb_chunks c ON c.id = kb_chunks_fts.rowid"
            " JOIN kb_files f ON f.id = c.file_id"
            " WHERE kb_chunks_fts MATCH ? AND f.assistant_id = ?"
            " ORDER BY kb_chunks_fts.rank LIMIT ?",
            (query, assistant_id, limit),
        )
        found = [Passage(*tuple(r)) for r in rows]
        if not found:
            return found
        # BM25 scores are negative, better more so: a passage far below the best one
        # matched a stray word of the question, and would only crowd the prompt.
        floor = (found[0].score or 0.0) * RELEVANCE_FLOOR
        return [p for p in found if (p.score or 0.0) <= floor]

    # -- dense vectors -----------------------------------------------------

    def chunks_to_embed(self, embedder: str, assistant_id: int | None, limit: int) -> list[tuple[int, str]]:
        """Chunks (of one assistant, or all) with no vector from `embedder` yet: (id, the text
        to embed: its heading path, then its text)."""
        where, params = _unembedded(embedder, assistant_id)
        rows = self._db.read(
            f"SELECT c.id, c.heading, c.text {where} ORDER BY c.id LIMIT ?", (*params, limit)
        )
        return [(int(r[0]), f"{r[1]}\n{r[2]}" if r[1] else r[2]) for r in rows]

    def count_chunks_to_embed(self, embedder: str, assistant_id: int | None) -> int:
        where, params = _unembedded(embedder, assistant_id)
        return int(self._db.read(f"SELECT count(*) {where}", params)[0][0])

    def save_vectors(self, embedder: str, vectors: Sequence[tuple[int, bytes]]) -> None:
        """Store chunks' vectors (an empty one: the chunk cannot be embedded). A chunk
        re-indexed away since it was read is passed over."""
        with self._db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO kb_vectors (embedder, chunk_id, vector)"
                " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM kb_chunks WHERE id = ?)",
                [(embedder, chunk_id, vector, chunk_id) for chunk_id, vector in vectors],
            )

    def embedded_chunks(self, root_id: int) -> int:
        """The root's passages that have a vector (from any embedding model)."""
        return int(
            self._db.read(
                "SELECT count(DISTINCT v.chunk_id) FROM kb_vectors v JOIN kb_chunks c ON c.id = v.chunk_id"
                " JOIN kb_files f ON f.id = c.file_id WHERE f.root_id = ? AND length(v.vector) > 0",
                (root_id,),
            )[0][0]
        )

    def files_stamp(self, assistant_id: int) -> tuple[int, float, float]:
        """Changes whenever the assistant's files or their passages do (a file indexed again
        gets a new `indexed_at`): to know when a count over its passages is stale."""
        row = self._db.read(
            "SELECT count(*), total(chunks) + total(id), max(indexed_at) FROM kb_files"
            " WHERE assistant_id = ?",
            (assistant_id,),
        )[0]
        return int(row[0]), float(row[1]), float(row[2] or 0.0)

    def vectors_stamp(self, embedder: str) -> tuple[int, int]:
        """Changes whenever `embedder`'s vectors do: to know when a loaded matrix is stale."""
        # A scan of the chunk index, not of the vectors (see _unembedded): 150 -> 7.5 ms at 100,000.
        row = self._db.read(
            "SELECT count(*), total(chunk_id) FROM kb_vectors INDEXED BY kb_vectors_by_chunk"
            " WHERE embedder = ?",
            (embedder,),
        )[0]
        return int(row[0]), int(row[1])

    def vectors(self, assistant_id: int, embedder: str) -> list[tuple[int, bytes]]:
        """The assistant's chunks' vectors from `embedder`: (chunk id, float32 bytes)."""
        rows = self._db.read(
            "SELECT v.chunk_id, v.vector FROM kb_vectors v JOIN kb_chunks c ON c.id = v.chunk_id"
            " JOIN kb_files f ON f.id = c.file_id"
            " WHERE v.embedder = ? AND f.assistant_id = ? AND length(v.vector) > 0",
            (embedder, assistant_id),
        )
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def passages(self, chunk_ids: Sequence[int]) -> list[Passage]:
        """The chunks as passages, in the order given (ids gone since are left out)."""
        if not chunk_ids:
            return []
        marks = ",".join("?" * len(chunk_ids))
        rows = self._db.read(
            "SELECT f.path, f.kind, c.heading, c.line_start, c.line_end, c.text, NULL, 0, c.id"
            f" FROM kb_chunks c JOIN kb_files f ON f.id = c.file_id WHERE c.id IN ({marks})",
            tuple(chunk_ids),
        )
        by_id = {int(r[8]): Passage(*tuple(r)) for r in rows}
        return [by_id[i] for i in chunk_ids if i in by_id]

    # -- what runs were given -----------------------------------------------

    def record_sources(self, run_id: int, passages: Sequence[Passage]) -> None:
        with self._db.write() as conn:
            insert_sources(conn, run_id, passages)

    def run_sources(self, run_id: int) -> list[Passage]:
        rows = self._db.read(
            "SELECT path, kind, heading, line_start, line_end, text, score, number"
            " FROM run_sources WHERE run_id = ? ORDER BY number",
            (run_id,),
        )
        return [Passage(*tuple(r)) for r in rows]

    def thread_sources(self, thread_id: int) -> dict[int, list[Passage]]:
        """Each run of the thread that was given passages: run id -> its passages."""
        rows = self._db.read(
            "SELECT s.run_id, s.path, s.kind, s.heading, s.line_start, s.line_end, s.text, s.score, s.number"
            " FROM run_sources s JOIN runs r ON r.id = s.run_id WHERE r.thread_id = ?"
            " ORDER BY s.run_id, s.number",
            (thread_id,),
        )
        out: dict[int, list[Passage]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(Passage(*tuple(r)[1:]))
        return out
