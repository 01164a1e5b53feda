"""An assistant's knowledge, found for a question: by words (BM25 in the store) and,
where the backend has text embeddings, by meaning, fused.

The vectors of an assistant's passages are read into a matrix once and read again
only when they change; what an answer checks before it retrieves (the passages
without a vector yet) is counted again only when the files or vectors changed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio

from yachat.core.knowledge.prompting import PASSAGES_AT_MOST, RECENT_TURNS
from yachat.core.session import ModelSession
from yachat.core.store_writes import write
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.knowledge import Passage
from yachat.store.models import Assistant, Message

if TYPE_CHECKING:  # numpy's import is ~60 ms of start-up: knowledge loads it when used
    from yachat.core.knowledge.embeddings import Embedder, EmbedProgress
    from yachat.core.knowledge.hybrid import VectorIndex

log = logging.getLogger(__name__)

# Passages an answer embeds before it retrieves, at most (the local model takes ~0.3 s a
# passage); more wait for `yachat kb reindex` or the knowledge screen, which embed with progress.
EMBED_INLINE_AT_MOST = 16
EMBED_BATCH = 64


class Retrieval:
    def __init__(self, settings: Settings, store: Store, session: ModelSession) -> None:
        self.settings = settings
        self.store = store
        self.session = session
        self._embedder: Embedder | None = None
        self._embedder_sdk: Any = None  # the SDK `_embedder` was probed on
        self._null_vectors: dict[str, Any] = {}  # per embedder: the null questions' vectors
        self._vector_indexes: dict[tuple[int, str], VectorIndex | None] = {}
        self._missing_vectors: dict[tuple[int, str], tuple[Any, int]] = {}

    async def passages_for(self, assistant: Assistant, history: list[Message]) -> list[Passage]:
        """Passages of the assistant's knowledge for the question and the turns before it:
        by their words, and by their meaning too when the backend has text embeddings."""
        if not self.store.has_knowledge(assistant.id):
            return []
        turns = [m.text for m in reversed(history) if m.role in ("user", "assistant") and m.text.strip()]
        texts = turns[: 1 + RECENT_TURNS]  # the question first: its words lead the query
        if not texts:
            return []
        from yachat.core.knowledge.hybrid import CANDIDATES, fuse

        lexical: list[Passage] = []
        lead: Any = None

        async def by_words() -> None:
            nonlocal lexical
            lexical = await anyio.to_thread.run_sync(self.store.retrieve, assistant.id, texts, CANDIDATES)

        async def by_meaning() -> None:
            nonlocal lead
            try:
                lead = await self._dense_leads(assistant.id, texts)
            except Exception as exc:  # an answer by words beats no answer
                log.warning("retrieval by meaning failed, by words only: %s", exc)

        # Both at once: SQLite's search and the pass over the vectors each release the GIL.
        async with anyio.create_task_group() as tg:
            tg.start_soon(by_words)
            tg.start_soon(by_meaning)
        index = lead[0] if lead else None
        dense = index.pick(lead[1], [p.chunk_id for p in lexical]) if index else []
        if not dense:
            return lexical[:PASSAGES_AT_MOST]
        chosen = fuse([p.chunk_id for p in lexical], dense, limit=PASSAGES_AT_MOST)
        found = {p.chunk_id: p for p in lexical}
        more = [i for i in chosen if i not in found]
        found.update((p.chunk_id, p) for p in await anyio.to_thread.run_sync(self.store.passages, more))
        return [found[i] for i in chosen if i in found]

    async def _dense_leads(self, assistant_id: int, texts: list[str]) -> tuple[VectorIndex, Any] | None:
        embedder = await self.embedder()
        if embedder is None:
            return None
        stamp = await anyio.to_thread.run_sync(self._knowledge_stamp, assistant_id, embedder.key)
        missing = await self._count_missing(assistant_id, embedder.key, stamp)
        if 0 < missing <= EMBED_INLINE_AT_MOST:
            await self.embed_knowledge(assistant_id)
            stamp = await anyio.to_thread.run_sync(self._knowledge_stamp, assistant_id, embedder.key)
        elif missing:
            log.info("%d passages have no vector yet; `yachat kb reindex` embeds them", missing)
        index = await self._vector_index(assistant_id, embedder, stamp[1])
        if index is None:
            return None
        from yachat.core.knowledge.hybrid import meaning_query

        query = await embedder.query(meaning_query(texts))
        return index, await anyio.to_thread.run_sync(index.leads, query)

    def _knowledge_stamp(self, assistant_id: int, embedder: str) -> tuple[Any, Any]:
        """What changes with the assistant's passages, and with the embedder's vectors."""
        return self.store.files_stamp(assistant_id), self.store.vectors_stamp(embedder)

    async def _count_missing(self, assistant_id: int, embedder: str, stamp: tuple[Any, Any]) -> int:
        """Passages of the assistant without a vector, counted again only when the stamp
        moved: at 100,000 passages the count took 27 ms before every answer's request."""
        key = (assistant_id, embedder)
        cached = self._missing_vectors.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        missing = await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder, assistant_id)
        self._missing_vectors[key] = (stamp, missing)
        return missing

    async def embedder(self) -> Embedder | None:
        """The backend's text embeddings, or None when it has none (retrieval is by words)."""
        await self.session.connect()
        if self._embedder_sdk is not self.session.sdk:
            from yachat.core.knowledge.embeddings import probe

            backend = self.session.backend
            assert backend is not None
            self._embedder = await probe(self.session.sdk, backend.kind, self.settings.request_timeout_s)
            self._embedder_sdk = self.session.sdk
        return self._embedder

    async def vectors_missing(self) -> int:
        """Passages (of every assistant) that answers find by words only, as they have no
        vector from this backend's embeddings yet; 0 when it has no embeddings."""
        if not await anyio.to_thread.run_sync(self.store.knowledge_roots):
            return 0
        embedder = await self.embedder()
        if embedder is None:
            return 0
        return await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder.key, None)

    async def embed_knowledge(
        self,
        assistant_id: int | None = None,
        on_progress: EmbedProgress | None = None,
        should_stop: Any = None,
    ) -> int | None:
        """Give every passage (of one assistant, or all) a vector from the backend's
        embeddings; how many were embedded, or None when the backend has none."""
        embedder = await self.embedder()
        if embedder is None:
            return None
        total = await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder.key, assistant_id)
        done = 0
        if on_progress is not None and total:
            on_progress(0, total)
        while done < total and not (should_stop is not None and should_stop()):
            batch = await anyio.to_thread.run_sync(
                self.store.chunks_to_embed, embedder.key, assistant_id, EMBED_BATCH
            )
            if not batch:
                break
            vectors = await embedder.documents([text for _, text in batch])
            await write(
                self.store.save_vectors,
                embedder.key,
                [(i, v) for (i, _), v in zip(batch, vectors, strict=True)],
            )
            done += len(batch)
            if on_progress is not None:
                on_progress(min(done, total), total)
        return done

    async def _vector_index(self, assistant_id: int, embedder: Embedder, stamp: Any) -> VectorIndex | None:
        """The assistant's vectors as a matrix, read again only when they changed (`stamp`)."""
        key = (assistant_id, embedder.key)
        index = self._vector_indexes.get(key)
        if index is not None and index.stamp == stamp:
            return index
        from yachat.core.knowledge.hybrid import NULL_QUESTIONS, VectorIndex

        nulls = self._null_vectors.get(embedder.key)
        if nulls is None:
            nulls = self._null_vectors[embedder.key] = await embedder.queries(NULL_QUESTIONS)
        rows = await anyio.to_thread.run_sync(self.store.vectors, assistant_id, embedder.key)
        index = self._vector_indexes[key] = await anyio.to_thread.run_sync(
            VectorIndex.build, stamp, rows, nulls
        )
        return index
