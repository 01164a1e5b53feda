"""A store written by the first yachat opens in this one, every thread and message intact.

fixtures/v1-store.sql is the schema as version 1 created it plus rows as yachat
0.1.0 wrote them. It is frozen: a schema change is a new migration, and this
test keeps the oldest stores opening.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from yachat.store import ExpirationPolicy, MessageStatus, RunStatus, Store
from yachat.store.schema import MIGRATIONS, _statements

FIXTURE = Path(__file__).parent / "fixtures" / "v1-store.sql"

# (id, name, assistant_id, ttl_days, policy) -> [(role, text, status, run_id)]
THREADS = {
    (1, "Binary search in Python", 1, None, ExpirationPolicy.STATIC): [
        ("user", "Write a binary search in Python", MessageStatus.COMPLETE, None),
        ("assistant", "Here is a small **binary search** in Python:", MessageStatus.COMPLETE, 1),
        ("user", "And the recursive one?", MessageStatus.COMPLETE, None),
        ("assistant", "", MessageStatus.FAILED, 2),
    ],
    (2, "Планы на выходные в Казани 🏰", 2, 30, ExpirationPolicy.SINCE_LAST_ACTIVE): [
        ("user", "Что посмотреть в Казани за два дня?", MessageStatus.COMPLETE, None),
        ("assistant", "День первый: Кремль и", MessageStatus.CANCELLED, 3),
        ("user", "Продолжай, пожалуйста", MessageStatus.COMPLETE, None),
        # Streaming when the old yachat died: its run has no owner lock, so the first read settles it.
        ("assistant", "День второй: улица Баумана", MessageStatus.INTERRUPTED, 4),
    ],
    (3, "A thread that never got an answer", None, None, ExpirationPolicy.STATIC): [
        ("user", 'tabs\tand "quotes" and \' a crab 🦀', MessageStatus.COMPLETE, None),
    ],
}


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    path = tmp_path / "yachat.db"
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text(encoding="utf-8"))
    conn.close()
    return path


def test_the_fixture_is_the_first_schema_as_released() -> None:
    """Version 1 must never change in place: stores in the wild were made by it."""
    ddl = FIXTURE.read_text(encoding="utf-8").split("\n-- Rows as")[0]
    assert _statements(ddl) == _statements(MIGRATIONS[0])


def test_a_version_1_store_opens_with_every_thread_and_message(v1_store: Path) -> None:
    with sqlite3.connect(v1_store) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1

    store = Store.open(v1_store)
    try:
        assert store._db.read("PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert store.integrity_check() == "ok"
        threads = store.list_threads()
        assert [t.id for t in threads] == [3, 2, 1]  # newest activity first
        for (thread_id, name, assistant_id, ttl, policy), expected in THREADS.items():
            thread = store.get_thread(thread_id)
            assert thread is not None
            assert (thread.name, thread.ttl_days, thread.expiration_policy) == (name, ttl, policy)
            if assistant_id is not None:
                assert thread.assistant_id == assistant_id
            messages = store.list_messages(thread_id)
            assert [(m.role, m.status, m.run_id) for m in messages] == [
                (role, status, run_id) for role, _, status, run_id in expected
            ]
            for message, (_, text, _, _) in zip(messages, expected, strict=True):
                assert message.text.startswith(text) and (text or not message.text)
        code = store.list_messages(1)[1].text
        assert code.endswith("    return lo\n```")  # multi-line text kept byte for byte

        assert store.default_assistant().name == "Default"
        teacher = store.get_assistant(2)
        assert teacher is not None
        assert (teacher.name, teacher.keep_last_messages, teacher.prompt_token_budget) == (
            "Терпеливый учитель",
            20,
            6000,
        )
        done = store.get_run(1)
        assert done is not None and done.status == RunStatus.COMPLETED and done.total_tokens == 92
        failed = store.get_run(2)
        assert failed is not None and failed.error == "The model server stopped answering."

        # Full-text search still finds old text, Cyrillic included.
        assert {h.message_id for h in store.search("Казани")} == {5}
        assert {h.message_id for h in store.search("binary")} == {1, 2}

        # And the old store takes new writes.
        store.add_message(3, "assistant", "An answer, at last.")
        assert store.list_messages(3)[-1].text == "An answer, at last."
    finally:
        store.close()


def test_a_version_1_store_opens_again_after_the_upgrade(v1_store: Path) -> None:
    Store.open(v1_store).close()
    store = Store.open(v1_store)  # migrated once; a second open migrates nothing
    try:
        assert sum(len(store.list_messages(t.id)) for t in store.list_threads()) == 9
    finally:
        store.close()
