"""Dense vectors of passages and questions, from Yandex's text embeddings through the
SDK: `text-search-doc` for passages, `text-search-query` for questions (gRPC
EmbeddingsService). The cloud has them; the local server only when it has a real
embedding model, and answers UNIMPLEMENTED otherwise: then retrieval is lexical.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import grpc
import numpy as np

log = logging.getLogger(__name__)

# The service takes one text a request: this many requests in flight at once (the
# cloud's quota is per second; the SDK retries what it refuses as busy).
CONCURRENCY = 4
# A passage is at most 2,400 characters (chunking.MAX_CHARS) plus its heading path,
# well under the service's 2,048 tokens; a longer text is cut rather than refused.
MAX_TEXT_CHARS = 4000
# Codes that say this backend has no embeddings, for good.
_ABSENT = (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND)
# Codes that say this one text cannot be embedded; the others stay worth trying.
_REFUSED = (grpc.StatusCode.INVALID_ARGUMENT,)

EmbedProgress = Callable[[int, int], None]  # passages done, passages to do


class Embedder:
    """The backend's embedding models; `key` names their vector space in the store."""

    def __init__(self, sdk: Any, key: str, dimensions: int, timeout_s: float) -> None:
        self._doc = sdk.models.text_embeddings("doc")
        self._query = sdk.models.text_embeddings("query")
        self.key = key
        self.dimensions = dimensions
        self._timeout_s = timeout_s
        self._limiter = anyio.CapacityLimiter(CONCURRENCY)

    async def query(self, text: str) -> np.ndarray:
        result = await self._query.run(text[:MAX_TEXT_CHARS], timeout=self._timeout_s)
        return unit(result.embedding)

    async def queries(self, texts: Sequence[str]) -> np.ndarray:
        """The questions' unit vectors, one row each."""
        rows: list[np.ndarray] = [np.zeros(0, np.float32)] * len(texts)

        async def one(i: int, text: str) -> None:
            async with self._limiter:
                rows[i] = await self.query(text)

        async with anyio.create_task_group() as tg:
            for i, text in enumerate(texts):
                tg.start_soon(one, i, text)
        return np.vstack(rows)

    async def documents(self, texts: Sequence[str]) -> list[bytes]:
        """Each text's unit vector as float32 bytes; b"" for a text the service refuses."""
        out: list[bytes] = [b""] * len(texts)

        async def one(i: int, text: str) -> None:
            async with self._limiter:
                try:
                    result = await self._doc.run(text[:MAX_TEXT_CHARS], timeout=self._timeout_s)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in _REFUSED:
                        raise
                    log.warning("a passage could not be embedded: %s", exc.details())
                    return
                out[i] = unit(result.embedding).tobytes()

        async with anyio.create_task_group() as tg:
            for i, text in enumerate(texts):
                tg.start_soon(one, i, text)
        return out


async def probe(sdk: Any, backend_kind: str, timeout_s: float) -> Embedder | None:
    """The backend's embedder, or None when it serves no embeddings."""
    try:
        result = await sdk.models.text_embeddings("doc").run("yachat", timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        if exc.code() in _ABSENT:
            log.info("the %s backend has no text embeddings: %s", backend_kind, exc.details())
            return None
        raise
    dimensions = len(result.embedding)
    # Vectors from another model or size do not compare with these: the key keeps them apart.
    key = f"{backend_kind}:text-search-doc:{result.model_version}:{dimensions}"
    return Embedder(sdk, key, dimensions, timeout_s)


def unit(values: Sequence[float]) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
