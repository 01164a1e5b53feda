"""Stores full of history for the benchmarks, written through the store's API."""

from __future__ import annotations

import random
from pathlib import Path

from yachat.store import Store

ANSWER = """Here is one way to do it (variant {n}):

```python
def handler_{n}(request: dict[str, str]) -> dict[str, int]:
    # validate, then count the words of every field
    counts = {{}}
    for key, value in request.items():
        if not value:
            continue
        counts[key] = len(value.split())
    return counts
```

Some notes on **variant {n}**:

- It skips empty fields, so `counts` only holds real input.
- Splitting on whitespace is enough for a rough count; use a tokenizer for more.
- The function is pure: easy to test, easy to reuse.

| field | words |
|---|---:|
| title | {n} |
| body | {m} |

> Tip: for large inputs, stream the fields instead of loading them at once.
"""

QUESTION = "Question {n}: how would you write a handler that counts words per field, and what should it skip? Keep it short."


def long_thread_store(path: Path, messages: int = 500) -> tuple[Store, int, int]:
    """A store with one long thread (half answers with code) and a short one; returns their ids."""
    store = Store.open(path)
    assistant = store.default_assistant().id
    short = store.create_thread("A short thread", assistant)
    store.add_message(short.id, "user", "hello")
    store.add_message(short.id, "assistant", "Hello! How can I help?")
    long = store.create_thread("A long thread with code", assistant)
    if messages <= 5000:
        for i in range(messages // 2):
            store.add_message(long.id, "user", QUESTION.format(n=i))
            store.add_message(long.id, "assistant", ANSWER.format(n=i, m=i * 7 % 100))
    else:  # one transaction: 50,000 single-message transactions take minutes
        with store._db.write() as conn:
            conn.executemany(
                "INSERT INTO messages (thread_id, role, text, status, created_at) VALUES (?, ?, ?, 'complete', ?)",
                (
                    (long.id, role, text, 1.7e9 + i)
                    for i in range(messages // 2)
                    for role, text in (
                        ("user", QUESTION.format(n=i)),
                        ("assistant", ANSWER.format(n=i, m=i * 7 % 100)),
                    )
                ),
            )
    store.rename_thread(short.id, "A short thread")  # keep the short one most recent
    store.add_message(short.id, "user", "still here")
    return store, long.id, short.id


WORDS = (
    "stream thread answer model token latency search index cache layout widget render "
    "python rust sql yandex cloud folder server client socket buffer chunk paint frame "
    "kitchen bread yeast sugar travel kazan volga river museum history lifetime borrow"
).split()


def big_store(path: Path, threads: int = 10_000, messages: int = 100_000) -> Store:
    """10,000 threads and 100,000 messages of plausible text, written in one go."""
    store = Store.open(path)
    if store.count_threads() >= threads:
        return store
    rng = random.Random(7)
    db = store._db  # bulk load: one transaction instead of 110,000
    with db.write() as conn:
        assistant = store.default_assistant().id
        for t in range(threads):
            cur = conn.execute(
                "INSERT INTO threads (name, assistant_id, created_at, updated_at, expiration_policy)"
                " VALUES (?, ?, ?, ?, 'static')",
                (" ".join(rng.choices(WORDS, k=4)).capitalize(), assistant, 1.7e9 + t * 600, 1.7e9 + t * 600),
            )
            thread_id = cur.lastrowid
            for m in range(messages // threads):
                conn.execute(
                    "INSERT INTO messages (thread_id, role, text, status, created_at)"
                    " VALUES (?, ?, ?, 'complete', ?)",
                    (thread_id, "user" if m % 2 == 0 else "assistant",
                     " ".join(rng.choices(WORDS, k=rng.randint(8, 60))), 1.7e9 + t * 600 + m),
                )  # fmt: skip
    return store
