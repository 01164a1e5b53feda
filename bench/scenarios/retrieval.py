"""Scenario: knowledge of 2,000 Markdown files, 100,000 passages (~60 MB of text).

- index_s, index_files_per_s, index_mb_per_s: `kb add` of the folder into a new store;
- reindex_unchanged_s: adding it again (nothing changed: no file is read);
- retrieval_median_ms / retrieval_p95_ms: one retrieval as an answer makes it (the
  question and the two turns before it, top 6 passages by BM25), over 200 questions.
- hybrid_median_ms / hybrid_p95_ms: the same with the search by meaning added (cosine
  over 100,000 passage vectors, 384 dimensions as the local e5 model's, then the rank
  fusion and reading the passages found only by meaning); the question's own
  embedding (one request to the embeddings service) is not in it.
- vectors_load_s: reading the 100,000 vectors from the store into the matrix, as an
  answer does once per process and after the vectors change.
The vectors here are random unit vectors: this measures the arithmetic and the store,
not the quality of the ranking (the tests do that, with the real model).

The text is drawn from a 30,000-word vocabulary with Zipf frequencies, as prose is:
a few words are in most passages, most words in few.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common  # noqa: F401  (puts src/ on the path)
import numpy as np

from yachat.core.knowledge.hybrid import CANDIDATES, VectorIndex, fuse
from yachat.core.knowledge.indexer import add_paths
from yachat.core.knowledge.prompting import PASSAGES_AT_MOST
from yachat.store import Store

FILES = 2000
SECTIONS = 50  # one passage each
WORDS_PER_SECTION = 90
QUERIES = 200
DIMENSIONS = 384
EMBEDDER = "bench:random-unit-vectors"
KEEP = os.environ.get("YACHAT_BENCH_KEEP_DB")  # a path: keep the store there, to look into


def vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def main() -> dict[str, float]:
    rng = random.Random(14)
    words = vocabulary(rng)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))

    def prose(n: int) -> str:
        return " ".join(rng.choices(words, cum_weights=weights, k=n))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notes"
        size = 0
        for f in range(FILES):
            sub = folder / f"area{f % 40}"
            sub.mkdir(parents=True, exist_ok=True)
            parts = [f"# Notes {f}\n"]
            for s in range(SECTIONS):
                parts.append(f"## {prose(3).title()} {s}\n\n{prose(WORDS_PER_SECTION)}.\n")
            text = "\n".join(parts)
            (sub / f"note{f}.md").write_text(text, encoding="utf-8")
            size += len(text.encode())
        store = Store.open(Path(tmp) / "yachat.db")
        assistant = store.default_assistant().id
        started = time.perf_counter()
        report = add_paths(store, assistant, [folder])
        index_s = time.perf_counter() - started
        assert report.chunks >= FILES * SECTIONS, report
        started = time.perf_counter()
        again = add_paths(store, assistant, [folder])
        reindex_s = time.perf_counter() - started
        assert again.work_done == 0

        np_rng = np.random.default_rng(14)

        def unit_rows(n: int) -> np.ndarray:
            rows = np_rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

        ids = [int(r[0]) for r in store._db.read("SELECT id FROM kb_chunks ORDER BY id")]
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            store.save_vectors(
                EMBEDDER, list(zip(part, (v.tobytes() for v in unit_rows(len(part))), strict=True))
            )
        nulls = unit_rows(8)
        started = time.perf_counter()
        index = VectorIndex.build(store.vectors_stamp(EMBEDDER), store.vectors(assistant, EMBEDDER), nulls)
        vectors_load_s = time.perf_counter() - started
        assert index is not None

        latencies = []
        hybrid = []
        pool = ThreadPoolExecutor(1)
        for _ in range(QUERIES):
            question = (
                "what about " + " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(3, 8))) + "?"
            )
            turns = [prose(30), prose(60)]
            started = time.perf_counter()
            found = store.retrieve(assistant, [question, *turns], PASSAGES_AT_MOST)
            latencies.append((time.perf_counter() - started) * 1000)
            assert found
            query = unit_rows(1)[0]
            started = time.perf_counter()
            # As an answer does: the words' search and, at once, the meaning's side (the stamps
            # that say whether the knowledge changed, the pass over the vectors).
            by_words = pool.submit(store.retrieve, assistant, [question, *turns], CANDIDATES)
            store.files_stamp(assistant)
            store.vectors_stamp(EMBEDDER)
            lead = index.leads(query)
            lexical = by_words.result()
            by_meaning = index.pick(lead, [p.chunk_id for p in lexical])
            chosen = fuse([p.chunk_id for p in lexical], by_meaning, limit=PASSAGES_AT_MOST)
            known = {p.chunk_id for p in lexical}
            store.passages([i for i in chosen if i not in known])
            hybrid.append((time.perf_counter() - started) * 1000)
        pool.shutdown()
        store.close()
        if KEEP:
            shutil.copy(Path(tmp) / "yachat.db", KEEP)
    latencies.sort()
    hybrid.sort()
    return {
        "hybrid_median_ms": statistics.median(hybrid),
        "hybrid_p95_ms": hybrid[int(len(hybrid) * 0.95)],
        "vectors_load_s": vectors_load_s,
        "retrieval_median_ms": statistics.median(latencies),
        "retrieval_p95_ms": latencies[int(len(latencies) * 0.95)],
        "index_s": index_s,
        "index_files_per_s": FILES / index_s,
        "index_mb_per_s": size / 2**20 / index_s,
        "reindex_unchanged_s": reindex_s,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
