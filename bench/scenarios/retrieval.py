"""Scenario: knowledge of 2,000 Markdown files, 100,000 passages (~60 MB of text).

- index_s, index_files_per_s, index_mb_per_s: `kb add` of the folder into a new store;
- reindex_unchanged_s: adding it again (nothing changed: no file is read);
- retrieval_median_ms / retrieval_p95_ms: one retrieval as an answer makes it (the
  question and the two turns before it, top 6 passages by BM25), over 200 questions.

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
from pathlib import Path

import _common  # noqa: F401  (puts src/ on the path)

from yachat.core.knowledge.indexer import add_paths
from yachat.core.knowledge.prompting import PASSAGES_AT_MOST
from yachat.store import Store

FILES = 2000
SECTIONS = 50  # one passage each
WORDS_PER_SECTION = 90
QUERIES = 200
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

        latencies = []
        for _ in range(QUERIES):
            question = (
                "what about " + " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(3, 8))) + "?"
            )
            turns = [prose(30), prose(60)]
            started = time.perf_counter()
            found = store.retrieve(assistant, [question, *turns], PASSAGES_AT_MOST)
            latencies.append((time.perf_counter() - started) * 1000)
            assert found
        store.close()
        if KEEP:
            shutil.copy(Path(tmp) / "yachat.db", KEEP)
    latencies.sort()
    return {
        "retrieval_median_ms": statistics.median(latencies),
        "retrieval_p95_ms": latencies[int(len(latencies) * 0.95)],
        "index_s": index_s,
        "index_files_per_s": FILES / index_s,
        "index_mb_per_s": size / 2**20 / index_s,
        "reindex_unchanged_s": reindex_s,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
