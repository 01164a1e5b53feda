"""The SQLite store, on real files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yachat.store import ExpirationPolicy, MessageStatus, RunStatus, Store, StoreError
from yachat.store.knowledge import Passage
from yachat.store.schema import MIGRATIONS, _statements

DAY = 86400


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data" / "yachat.db")
    yield s
    s.close()


def test_new_store_is_migrated_private_and_has_a_default_assistant(tmp_path: Path) -> None:
    path = tmp_path / "data" / "yachat.db"
    store = Store.open(path)
    assert store._db.read("PRAGMA user_version")[0][0] == len(MIGRATIONS)
    assert store.default_assistant().name == "Default"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    store.close()
    again = Store.open(path)  # opening twice migrates nothing and adds no second default
    assert len(again.list_assistants()) == 1
    again.close()


def test_a_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "yachat.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer yachat"):
        Store.open(path)


def test_a_damaged_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "yachat.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"damaged|not a database"):
        Store.open(path)


def test_threads_order_by_activity(store: Store) -> None:
    a = store.create_thread("a")
    b = store.create_thread("b")
    store.add_message(a.id, "user", "bump a")
    assert [t.name for t in store.list_threads()] == ["a", "b"]
    assert store.count_threads() == 2
    assert [t.name for t in store.search_threads_by_name("A")] == ["a"]
    assert store.search_threads_by_name("%") == []  # LIKE wildcards are literal
    store.delete_thread(b.id)
    assert [t.name for t in store.list_threads()] == ["a"]


def test_runs_finish_and_usage_totals(store: Store) -> None:
    t = store.create_thread("t")
    run = store.create_run(t.id, store.default_assistant().id, "yandexgpt/rc")
    assert run.status is RunStatus.IN_PROGRESS
    done = store.finish_run(run.id, RunStatus.COMPLETED, input_tokens=10, completion_tokens=5,
                            total_tokens=15, model_version="07.03.2024", first_chunk_s=0.2, tokens_per_s=40)  # fmt: skip
    assert done.status is RunStatus.COMPLETED and done.finished_at and done.total_tokens == 15
    assert store.usage_totals(t.id) == (10, 5, 15)


def test_a_run_this_process_streams_is_never_settled(store: Store) -> None:
    t = store.create_thread("t")
    run = store.create_run(t.id, None, "m")
    message = store.add_message(t.id, "assistant", "partial", status=MessageStatus.STREAMING, run_id=run.id)
    assert run.owner_lock and Path(run.owner_lock).exists()
    other = Store.open(store.path)  # another reader of the same file, even in this process
    try:
        assert other.settle_dead_runs() == 0 and store.settle_dead_runs() == 0
        assert other.list_messages(t.id)[-1].status is MessageStatus.STREAMING
    finally:
        other.close()
    store.finish_run(run.id, RunStatus.COMPLETED)
    assert not Path(run.owner_lock).exists()  # the lock goes with the run's end
    assert store.get_message(message.id).status is MessageStatus.STREAMING  # type: ignore[union-attr]


OWNER = """
import sys, time
from yachat.store import Store, MessageStatus
store = Store.open(sys.argv[1])
thread = store.create_thread("owned")
run = store.create_run(thread.id, None, "m")
store.add_message(thread.id, "assistant", "half an answer", status=MessageStatus.STREAMING, run_id=run.id)
print(run.id, flush=True)
time.sleep(60)
"""


def test_a_dead_owner_is_known_at_once(store: Store) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        run_id = int(owner.stdout.readline())
        assert store.settle_dead_runs() == 0  # its owner lives
        owner.kill()
        owner.wait()
        # No waiting, no guessing from a pid: the kernel dropped the lock with the process.
        thread = store.list_threads()[0]
        answer = store.list_messages(thread.id)[-1]  # reading messages settles the thread's runs
        assert answer.status is MessageStatus.INTERRUPTED and answer.text == "half an answer"
        run = store.get_run(run_id)
        assert run is not None and run.status is RunStatus.INTERRUPTED and "stopped" in (run.error or "")
        assert run.owner_lock and not Path(run.owner_lock).exists()  # the stale lock file is removed
    finally:
        owner.kill()
        owner.wait()


def test_a_closed_store_lets_go_of_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "y.db"
    first = Store.open(path)
    t = first.create_thread("t")
    run = first.create_run(t.id, None, "m")
    first.close()
    second = Store.open(path)
    try:
        assert second.settle_dead_runs() == 1
        assert second.get_run(run.id).status is RunStatus.INTERRUPTED  # type: ignore[union-attr]
    finally:
        second.close()


def test_a_v1_store_is_migrated_and_its_orphans_settled(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO assistants (name, model, instruction, created_at) VALUES ('Default', 'yandexgpt/latest', '', 0)"
    )
    conn.execute("INSERT INTO meta (key, value) VALUES ('default_assistant', '1')")
    conn.execute("INSERT INTO threads (name, assistant_id, created_at, updated_at) VALUES ('t', 1, 0, 0)")
    conn.execute(
        "INSERT INTO runs (thread_id, assistant_id, model_uri, status, started_at, owner_pid)"
        " VALUES (1, 1, 'm', 'in_progress', 0, ?)",
        (os.getpid(),),  # a pid proves nothing: this one is alive, the run's writer is not
    )
    conn.execute(
        "INSERT INTO messages (thread_id, role, text, status, created_at, run_id)"
        " VALUES (1, 'assistant', 'old', 'streaming', 0, 1)"
    )
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        assert store.default_assistant().prompt_token_budget == 7000
        assert store.list_messages(1)[0].status is MessageStatus.INTERRUPTED
        assert store.get_run(1).omitted_messages is None  # type: ignore[union-attr]
    finally:
        store.close()


def test_expired_threads_are_purged_by_policy(store: Store) -> None:
    static = store.create_thread("static", ttl_days=5)
    active = store.create_thread("active", ttl_days=5, expiration_policy=ExpirationPolicy.SINCE_LAST_ACTIVE)
    forever = store.create_thread("forever")
    now = static.created_at
    store._db.conn.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now + 4 * DAY, active.id))
    assert store.purge_expired(now + 4 * DAY) == 0
    assert store.purge_expired(now + 6 * DAY) == 1  # static: 5 days after creation
    assert store.get_thread(static.id) is None and store.get_thread(active.id) is not None
    assert store.purge_expired(now + 9.5 * DAY) == 1  # since last active: 5 days after day 4
    assert [t.id for t in store.list_threads()] == [forever.id]


def test_fork_copies_messages_before_the_edited_one(store: Store) -> None:
    t = store.create_thread("orig")
    msgs = [
        store.add_message(t.id, r, x)
        for r, x in [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")]
    ]
    fork = store.fork_thread(t.id, msgs[2].id, name="edited")
    assert [m.text for m in store.list_messages(fork.id)] == ["q1", "a1"]
    assert [m.text for m in store.list_messages(t.id)] == ["q1", "a1", "q2", "a2"]


def test_snapshot_and_restore_undoes_a_delete(store: Store) -> None:
    t = store.create_thread("undo me")
    run = store.create_run(t.id, None, "m")
    store.add_message(t.id, "user", "question")
    store.add_message(t.id, "assistant", "unique-answer-word", run_id=run.id)
    snapshot = store.snapshot_thread(t.id)
    store.delete_thread(t.id)
    assert store.search("unique") == []
    restored = store.restore_thread(snapshot)
    assert restored.id == t.id and [m.text for m in store.list_messages(t.id)][1] == "unique-answer-word"
    assert store.search("unique")[0].thread_id == t.id


def test_undo_of_a_delete_brings_back_every_column_and_the_answers_sources(store: Store) -> None:
    t = store.create_thread("sourced")
    store.add_message(t.id, "user", "What is the vault combination?")
    run = store.create_run(t.id, None, "m", transport="http")
    answer = store.add_message(t.id, "assistant", "It is 7319-ALPHA [1].", run_id=run.id)
    store.update_message(answer.id, reasoning="the note on the safe says so")
    store.set_token_counts("m", {answer.id: 9})
    store.finish_run(run.id, RunStatus.COMPLETED, total_tokens=40, reasoning_tokens=7, finish_reason="FINAL")
    store.record_sources(run.id, [
        Passage("/n/home/vault.md", "markdown", "Household › Safe", 5, 7, "7319-ALPHA", -3.5, number=1),
        Passage("/n/r.pdf", "pdf", "", 3, 3, "page three", None, number=2),
    ])  # fmt: skip
    before = (store.list_messages(t.id), store.list_runs(t.id), store.thread_sources(t.id))
    snapshot = store.snapshot_thread(t.id)
    store.delete_thread(t.id)
    assert store.thread_sources(t.id) == {} and store.run_sources(run.id) == []
    store.restore_thread(snapshot)
    assert (store.list_messages(t.id), store.list_runs(t.id), store.thread_sources(t.id)) == before
    assert store.run_sources(run.id)[0].where == "/n/home/vault.md:5-7"


def test_search_ranks_and_marks_matches(store: Store) -> None:
    t = store.create_thread("cooking")
    store.add_message(t.id, "assistant", "Yeast makes bread rise; more yeast, faster rise.")
    other = store.create_thread("other")
    store.add_message(other.id, "assistant", "Bread is tasty.")
    hits = store.search("yeast")
    assert [h.thread_id for h in hits] == [t.id]
    assert "\x02yeast\x03" in hits[0].snippet.lower() or "\x02Yeast\x03" in hits[0].snippet
    assert len(store.search("brea")) == 2  # the last word is a prefix, as the user types


def test_a_streaming_answer_is_indexed_once_it_settles(store: Store) -> None:
    t = store.create_thread("t")
    m = store.add_message(t.id, "assistant", "", status=MessageStatus.STREAMING)
    store.update_message(m.id, text="photosynthesis in progress")
    assert store.search("photosynthesis") == []
    store.update_message(m.id, status=MessageStatus.COMPLETE)
    assert len(store.search("photosynthesis")) == 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_search_text_is_safe(tmp_path_factory: pytest.TempPathFactory, query: str) -> None:
    store = _shared_store(tmp_path_factory)
    store.search(query)  # never raises, whatever FTS5 syntax it holds


_STORES: dict[str, Store] = {}


def _shared_store(factory: pytest.TempPathFactory) -> Store:
    if "s" not in _STORES:
        s = Store.open(factory.mktemp("hyp") / "y.db")
        t = s.create_thread("t")
        s.add_message(t.id, "user", 'NEAR AND OR NOT "quoted" col:val * ( ) ^ stuff')
        _STORES["s"] = s
    return _STORES["s"]


@pytest.mark.parametrize(
    "query", ['"', '"unbalanced', "a*", "NEAR(a b)", "x AND", "col:val", "((", "^", "-", "  "]
)
def test_fts_syntax_never_raises(store: Store, query: str) -> None:
    store.search(query)


def test_any_text_round_trips_exactly(store: Store) -> None:
    t = store.create_thread("t")
    weird = "NUL\x00 bell\x07 esc\x1b[31m rtl שלום combining e\u0301 emoji 👩‍💻 " + "x" * 100_000
    m = store.add_message(t.id, "user", weird)
    assert store.get_message(m.id).text == weird  # type: ignore[union-attr]


def test_a_full_disk_is_a_clear_error_and_writes_nothing_half(store: Store) -> None:
    t = store.create_thread("t")
    store.add_message(t.id, "user", "before")
    pages = store._db.read("PRAGMA page_count")[0][0]
    store._db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is now "full"
    with pytest.raises(StoreError, match="disk is full"):
        store.add_message(t.id, "assistant", "x" * 200_000)
    assert [m.text for m in store.list_messages(t.id)] == ["before"]
    assert store.integrity_check() == "ok"


def test_two_stores_on_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    stores = [Store.open(path), Store.open(path)]
    thread = stores[0].create_thread("shared")

    def write(store: Store, tag: str) -> None:
        for i in range(100):
            store.add_message(thread.id, "user", f"{tag}-{i}")

    workers = [threading.Thread(target=write, args=(s, tag)) for s, tag in zip(stores, "ab", strict=True)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    texts = {m.text for m in stores[0].list_messages(thread.id)}
    assert len(texts) == 200
    for s in stores:
        s.close()


def test_an_unusable_runtime_dir_is_one_clear_error(store: Store, private_home: Path) -> None:
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "run").write_text("a file where the runtime dir should be")
    t = store.create_thread("t")
    with pytest.raises(StoreError, match=r"cannot lock the answer in .*run/runs"):
        store.create_run(t.id, None, "m")
    assert store.list_runs(t.id) == []  # no run left behind without an owner
