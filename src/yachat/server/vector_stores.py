"""Uploaded files and vector stores, in memory, as Yandex's OpenAI-compatible API keeps them.

A store indexes its files in a background thread, so a client sees `in_progress`
and polls, as it must against the cloud. A file's text is cut into chunks of
about `max_chunk_size_tokens` tokens overlapping by `chunk_overlap_tokens`
(Yandex's static default: 800 and 400); a token is counted as a word or a
punctuation mark, near enough for plain text. Chunks are embedded with the
server's embedder when it has one (search by meaning), else searched by their
words (BM25). Only text is read: the server does not import the client's
extractors (server/ is a program beside the client).

Everything here is thread-safe: the HTTP server's request threads and the
indexing thread share it under one lock; embedding happens outside the lock.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import secrets
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from yachat.server.embedder import Embedder, EmbeddingRefused, EmbeddingsOff

log = logging.getLogger(__name__)

ID_PREFIX = "fvt"
ID_CHARS = string.ascii_lowercase + string.digits
ID_LENGTH = 17  # after the prefix, as Yandex's ids: fvt9ef7q28n5...
DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400
MIN_CHUNK_TOKENS, MAX_CHUNK_TOKENS = 100, 4096
MAX_RESULTS = 50
DAY = 86400
# A chunk longer than the embedder takes is embedded by its head: its start says what it is about.
EMBED_HEAD_CHARS = 2000

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)


def new_id() -> str:
    return ID_PREFIX + "".join(secrets.choice(ID_CHARS) for _ in range(ID_LENGTH))


class VectorStoreExpired(KeyError):
    """The store exists but has expired: as unusable as an unknown one."""


class BadRequest(ValueError):
    """What the client asked for cannot be done; the message says why."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class VectorHit:
    file_id: str
    filename: str
    score: float  # 0..1, higher is nearer
    text: str


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    folder: str
    created_at: int
    expires_at: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at,
            "status_details": None,
        }


@dataclass(frozen=True)
class Chunking:
    max_tokens: int = DEFAULT_CHUNK_TOKENS
    overlap_tokens: int = DEFAULT_OVERLAP_TOKENS

    def public(self) -> dict[str, Any]:
        return {
            "type": "static",
            "static": {"max_chunk_size_tokens": self.max_tokens, "chunk_overlap_tokens": self.overlap_tokens},
        }


@dataclass
class Chunk:
    text: str
    words: Counter[str]
    vector: list[float] | None = None


@dataclass
class StoreFile:
    """A file as one vector store holds it."""

    file_id: str
    filename: str
    chunking: Chunking
    created_at: int
    attributes: dict[str, Any]
    status: str = "in_progress"  # in_progress | completed | failed | cancelled
    last_error: dict[str, str] | None = None
    chunks: list[Chunk] = field(default_factory=list)
    usage_bytes: int = 0

    def public(self, store_id: str) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "object": "vector_store.file",
            "usage_bytes": self.usage_bytes,
            "created_at": self.created_at,
            "vector_store_id": store_id,
            "status": self.status,
            "last_error": self.last_error,
            "chunking_strategy": self.chunking.public(),
            "attributes": self.attributes,
        }


@dataclass
class VectorStore:
    id: str
    name: str
    folder: str
    created_at: int
    metadata: dict[str, str]
    expires_after: dict[str, Any] | None
    last_active_at: int
    files: dict[str, StoreFile] = field(default_factory=dict)

    @property
    def expires_at(self) -> int | None:
        if not self.expires_after:
            return None
        anchor = self.created_at if self.expires_after.get("anchor") == "created_at" else self.last_active_at
        return anchor + int(self.expires_after["days"]) * DAY

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def status(self, now: float) -> str:
        if self.expired(now):
            return "expired"
        return "in_progress" if any(f.status == "in_progress" for f in self.files.values()) else "completed"

    def public(self, now: float) -> dict[str, Any]:
        counts = Counter(f.status for f in self.files.values())
        return {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "name": self.name,
            "usage_bytes": sum(f.usage_bytes for f in self.files.values()),
            "file_counts": {
                "in_progress": counts["in_progress"],
                "completed": counts["completed"],
                "failed": counts["failed"],
                "cancelled": counts["cancelled"],
                "total": len(self.files),
            },
            "status": self.status(now),
            "expires_after": self.expires_after,
            "expires_at": self.expires_at,
            "last_active_at": self.last_active_at,
            "metadata": self.metadata,
        }


def tokens_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of each token: a word or a punctuation mark."""
    return [m.span() for m in _TOKEN.finditer(text)]


def chunk_text(text: str, chunking: Chunking) -> list[str]:
    """Windows of `max_tokens` tokens, each starting `max - overlap` tokens after the last,
    cut from the original text so its spacing and lines are kept."""
    spans = tokens_of(text)
    if not spans:
        return []
    step = max(1, chunking.max_tokens - chunking.overlap_tokens)
    out = []
    for start in range(0, len(spans), step):
        window = spans[start : start + chunking.max_tokens]
        out.append(text[window[0][0] : window[-1][1]])
        if start + chunking.max_tokens >= len(spans):
            break
    return out


def words_of(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def text_of(data: bytes) -> str:
    """The text of an uploaded file, or BadRequest why it has none (binary, neither UTF-8 nor cp1251)."""
    if b"\x00" in data[:8192]:
        raise BadRequest("the file is not text (binary data); the local server reads text and markdown files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise BadRequest("the file is not text in UTF-8 or cp1251") from None


def parse_chunking(raw: Any) -> Chunking:
    if raw is None or (isinstance(raw, dict) and raw.get("type") == "auto"):
        return Chunking()
    if not isinstance(raw, dict) or raw.get("type") != "static" or not isinstance(raw.get("static"), dict):
        raise BadRequest(
            "chunking_strategy must be {type: auto} or {type: static, static: {...}}", "chunking_strategy"
        )
    static = raw["static"]
    size = static.get("max_chunk_size_tokens", DEFAULT_CHUNK_TOKENS)
    overlap = static.get("chunk_overlap_tokens", DEFAULT_OVERLAP_TOKENS)
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not MIN_CHUNK_TOKENS <= size <= MAX_CHUNK_TOKENS
    ):
        raise BadRequest(
            f"max_chunk_size_tokens must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS}, got {size!r}",
            "chunking_strategy.static.max_chunk_size_tokens",
        )
    if not isinstance(overlap, int) or isinstance(overlap, bool) or not 0 <= overlap <= size // 2:
        raise BadRequest(
            f"chunk_overlap_tokens must be between 0 and half of max_chunk_size_tokens, got {overlap!r}",
            "chunking_strategy.static.chunk_overlap_tokens",
        )
    return Chunking(size, overlap)


def parse_store_expiry(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    days = raw.get("days") if isinstance(raw, dict) else None
    anchor = raw.get("anchor") if isinstance(raw, dict) else None
    if anchor not in ("last_active_at", "created_at"):
        raise BadRequest("expires_after.anchor must be last_active_at or created_at", "expires_after.anchor")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise BadRequest(f"expires_after.days must be between 1 and 365, got {days!r}", "expires_after.days")
    return {"anchor": anchor, "days": days}


class VectorStores:
    """Files and vector stores of one server; `search` is what file_search calls."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        self._files: dict[str, StoredFile] = {}
        self._stores: dict[str, VectorStore] = {}
        self._jobs: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    # -- files ---------------------------------------------------------------

    def add_file(
        self, filename: str, purpose: str, data: bytes, folder: str = "", expires_in: int | None = None
    ) -> StoredFile:
        now = int(time.time())
        stored = StoredFile(
            new_id(), filename, purpose, data, folder, now, now + expires_in if expires_in else None
        )
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def file(self, file_id: str, folder: str = "") -> StoredFile:
        """The file, or KeyError when there is none by that id in the folder (or it expired)."""
        with self._lock:
            found = self._files.get(file_id)
            if found is None or found.folder != folder:
                raise KeyError(file_id)
            if found.expires_at is not None and time.time() >= found.expires_at:
                del self._files[file_id]
                raise KeyError(file_id)
            return found

    def files(self, folder: str = "", purpose: str | None = None) -> list[StoredFile]:
        now = time.time()
        with self._lock:
            return [
                f
                for f in self._files.values()
                if f.folder == folder
                and (purpose is None or f.purpose == purpose)
                and (f.expires_at is None or now < f.expires_at)
            ]

    def delete_file(self, file_id: str, folder: str = "") -> None:
        """Forget the file and its chunks in every store, so no search finds a deleted file."""
        self.file(file_id, folder)
        with self._lock:
            del self._files[file_id]
            for store in self._stores.values():
                store.files.pop(file_id, None)

    # -- stores --------------------------------------------------------------

    def create(
        self,
        name: str = "",
        file_ids: list[str] | None = None,
        metadata: dict[str, str] | None = None,
        expires_after: dict[str, Any] | None = None,
        chunking: Chunking | None = None,
        folder: str = "",
    ) -> VectorStore:
        file_ids = list(dict.fromkeys(file_ids or ()))
        for file_id in file_ids:
            self._known_file(file_id, folder)
        now = int(time.time())
        store = VectorStore(new_id(), name, folder, now, dict(metadata or {}), expires_after, now)
        with self._lock:
            self._stores[store.id] = store
        for file_id in file_ids:
            self.add_to_store(store.id, file_id, chunking, folder=folder)
        return store

    def get(self, store_id: str, folder: str | None = None) -> VectorStore:
        """The store (expired ones too: they answer with their status), or KeyError."""
        with self._lock:
            store = self._stores.get(store_id)
        if store is None or (folder is not None and store.folder != folder):
            raise KeyError(store_id)
        return store

    def usable(self, store_id: str, folder: str | None = None) -> VectorStore:
        store = self.get(store_id, folder)
        if store.expired(time.time()):
            raise VectorStoreExpired(store_id)
        return store

    def stores(self, folder: str = "") -> list[VectorStore]:
        with self._lock:
            return [s for s in self._stores.values() if s.folder == folder]

    def delete(self, store_id: str, folder: str | None = None) -> None:
        self.get(store_id, folder)
        with self._lock:
            self._stores.pop(store_id, None)

    def add_to_store(
        self,
        store_id: str,
        file_id: str,
        chunking: Chunking | None = None,
        attributes: dict[str, Any] | None = None,
        folder: str = "",
    ) -> StoreFile:
        store = self.usable(store_id, folder)
        stored = self._known_file(file_id, folder)
        entry = StoreFile(
            file_id, stored.filename, chunking or Chunking(), int(time.time()), dict(attributes or {})
        )
        with self._lock:
            store.files[file_id] = entry  # attaching again re-indexes, as the cloud does
            store.last_active_at = int(time.time())
        self._jobs.put((store_id, file_id))
        self._start_worker()
        return entry

    def store_file(self, store_id: str, file_id: str, folder: str | None = None) -> StoreFile:
        store = self.get(store_id, folder)
        with self._lock:
            entry = store.files.get(file_id)
        if entry is None:
            raise KeyError(file_id)
        return entry

    def store_files(
        self, store_id: str, folder: str | None = None, status: str | None = None
    ) -> list[StoreFile]:
        store = self.get(store_id, folder)
        with self._lock:
            return [f for f in store.files.values() if status is None or f.status == status]

    def remove_from_store(self, store_id: str, file_id: str, folder: str | None = None) -> None:
        store = self.get(store_id, folder)
        with self._lock:
            if store.files.pop(file_id, None) is None:
                raise KeyError(file_id)

    def _known_file(self, file_id: str, folder: str) -> StoredFile:
        try:
            return self.file(file_id, folder)
        except KeyError:
            raise BadRequest(f"no file has the id {file_id!r}; upload it first", "file_ids") from None

    # -- search --------------------------------------------------------------

    def search(self, store_id: str, query: str, limit: int) -> list[VectorHit]:
        """The chunks nearest `query`, best first: by meaning when the chunks have vectors, else by words.

        An unknown (or expired) store raises KeyError.
        """
        store = self.usable(store_id)
        limit = max(1, min(MAX_RESULTS, limit))
        with self._lock:
            store.last_active_at = int(time.time())
            chunks = [
                (f.file_id, f.filename, c)
                for f in store.files.values()
                if f.status == "completed"
                for c in f.chunks
            ]
        if not chunks or not query.strip():
            return []
        query_vector = (
            self._embed(query, "text-search-query") if all(c.vector for _, _, c in chunks) else None
        )
        if query_vector is not None:
            scored = [(_cosine(query_vector, c.vector or []), fid, name, c) for fid, name, c in chunks]
        else:
            scored = _bm25(words_of(query), chunks)
        scored = [s for s in scored if s[0] > 0]
        scored.sort(key=lambda s: s[0], reverse=True)
        return [VectorHit(fid, name, round(score, 6), c.text) for score, fid, name, c in scored[:limit]]

    # -- indexing ------------------------------------------------------------

    def _start_worker(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="yachat-serve-indexing", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            store_id, file_id = self._jobs.get()
            try:
                self._index(store_id, file_id)
            except Exception:  # one file's failure must not stop the indexing of the others
                log.exception("indexing %s into %s failed", file_id, store_id)
                self._finish(store_id, file_id, None, {"code": "server_error", "message": "indexing failed"})

    def _index(self, store_id: str, file_id: str) -> None:
        with self._lock:
            store = self._stores.get(store_id)
            entry = store.files.get(file_id) if store is not None else None
            stored = self._files.get(file_id)
        if entry is None or entry.status != "in_progress" or stored is None:
            return  # removed (or re-attached and done) while waiting
        started = time.monotonic()
        try:
            text = text_of(stored.data)
        except BadRequest as exc:
            self._finish(store_id, file_id, entry, {"code": "unsupported_file", "message": exc.message})
            return
        pieces = chunk_text(text, entry.chunking)
        if not pieces:
            self._finish(
                store_id, file_id, entry, {"code": "invalid_file", "message": "the file has no text"}
            )
            return
        chunks = [Chunk(p, Counter(words_of(p))) for p in pieces]
        for c in chunks:
            c.vector = self._embed(c.text, "text-search-doc")
        entry.chunks = chunks
        entry.usage_bytes = sum(len(c.text.encode()) for c in chunks)
        self._finish(store_id, file_id, entry, None)
        log.info(
            "vector store %s: indexed %s (%d chunks, %s) in %.2f s",
            store_id,
            stored.filename,
            len(chunks),
            "by meaning" if chunks[0].vector else "by words",
            time.monotonic() - started,
        )

    def _finish(
        self, store_id: str, file_id: str, entry: StoreFile | None, error: dict[str, str] | None
    ) -> None:
        with self._lock:
            store = self._stores.get(store_id)
            current = store.files.get(file_id) if store is not None else None
            if current is None or (entry is not None and current is not entry):
                return  # replaced or removed meanwhile: that newer state stands
            current.status = "failed" if error else "completed"
            current.last_error = error

    def _embed(self, text: str, model: str) -> list[float] | None:
        """The text's vector, or None when this server has no embedding model (words are searched instead)."""
        if self.embedder is None:
            return None
        try:
            try:
                return self.embedder.embed(model, text).vector
            except EmbeddingRefused:  # too long for the model: its head stands for it
                return self.embedder.embed(model, text[:EMBED_HEAD_CHARS]).vector
        except (EmbeddingsOff, EmbeddingRefused):
            return None


def _cosine(a: list[float], b: list[float]) -> float:
    # The embedder's vectors are L2-normalized: the dot product is the cosine.
    return max(0.0, sum(x * y for x, y in zip(a, b, strict=False)))


def _bm25(
    terms: list[str], chunks: list[tuple[str, str, Chunk]], k1: float = 1.2, b: float = 0.75
) -> list[tuple[float, str, str, Chunk]]:
    """BM25 of each chunk, squashed into 0..1 (s / (s + 1)) so scores read as the cloud's do."""
    terms = list(dict.fromkeys(terms))
    n = len(chunks)
    lengths = [sum(c.words.values()) for _, _, c in chunks]
    average = sum(lengths) / n or 1.0
    df = {t: sum(1 for _, _, c in chunks if t in c.words) for t in terms}
    out = []
    for (fid, name, c), length in zip(chunks, lengths, strict=True):
        score = 0.0
        for t in terms:
            tf = c.words.get(t, 0)
            if tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
        out.append((score / (score + 1), fid, name, c))
    return out
