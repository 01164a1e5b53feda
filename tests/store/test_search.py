"""Message search: the ranking window, ties, and the typed prefix made exact when it names one term."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yachat.store import Store
from yachat.store import search as search_module
from yachat.store.search import search, sole_completion


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "yachat.db")
    yield s
    s.close()


def _completion(store: Store, prefix: str) -> str | None:
    with store._db.reading() as read:
        return sole_completion(read, prefix)


def test_a_prefix_names_a_term_only_when_no_other_term_starts_with_it(store: Store) -> None:
    t = store.create_thread("t")
    store.add_message(t.id, "user", "bread breadth kazan Café")
    assert _completion(store, "kaz") == "kazan"
    assert _completion(store, "kazan") == "kazan"
    assert _completion(store, "bread") is None  # bread, breadth
    assert _completion(store, "breadt") == "breadth"
    assert _completion(store, "caf") == "cafe"  # the index holds the folded word
    assert _completion(store, "kazans") is None
    assert _completion(store, "zzz") is None


def test_a_term_whose_messages_were_deleted_no_longer_completes(store: Store) -> None:
    t = store.create_thread("t")
    store.add_message(t.id, "user", "streaming")
    gone = store.add_message(t.id, "user", "streams")
    assert _completion(store, "stream") is None
    store.delete_message(gone.id)
    assert _completion(store, "stream") == "streaming"
    assert [h.message_id for h in store.search("stream")] == [h.message_id for h in store.search("streami")]


def test_equal_scores_list_the_older_message_first(store: Store) -> None:
    t = store.create_thread("t")
    ids = [store.add_message(t.id, "user", "same words here").id for _ in range(5)]
    assert [h.message_id for h in store.search("words")] == ids


def test_only_the_newest_matches_are_ranked(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    t = store.create_thread("t")
    strong = store.add_message(t.id, "user", "yeast yeast yeast")
    newer = [store.add_message(t.id, "user", f"yeast and {n} other words to dilute it").id for n in range(3)]
    assert store.search("yeast")[0].message_id == strong.id
    monkeypatch.setattr(search_module, "RANK_WINDOW", 3)
    assert sorted(h.message_id for h in store.search("yeast")) == newer


def test_every_hit_has_its_snippet_with_the_match_marked(store: Store) -> None:
    t = store.create_thread("a thread")
    for n in range(40):
        store.add_message(t.id, "user", f"message {n} mentions sourdough among other words")
    hits = store.search("sourd", limit=30)
    assert len(hits) == 30
    assert all("\x02sourdough\x03" in h.snippet and h.thread_name == "a thread" for h in hits)


VOCABULARY = ["bread", "breadth", "Bread", "stream", "streams", "kazan", "café", "Cafe", "naïve", "x1", "x12", "yo"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    messages=st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=8), min_size=1, max_size=25),
    deleted=st.sets(st.integers(0, 24), max_size=5),
    query=st.lists(
        st.sampled_from(VOCABULARY).flatmap(lambda w: st.integers(1, len(w)).map(lambda n: w[:n])),
        min_size=1,
        max_size=3,
    ),
)
def test_making_the_prefix_exact_changes_no_result(
    tmp_path_factory: pytest.TempPathFactory, messages: list[list[str]], deleted: set[int], query: list[str]
) -> None:
    store = Store.open(tmp_path_factory.mktemp("equal") / "y.db")
    try:
        t = store.create_thread("t")
        ids = [store.add_message(t.id, "user", " ".join(words)).id for words in messages]
        for i in deleted & set(range(len(ids))):
            store.delete_message(ids[i])
        text = " ".join(query)
        exact = search(store._db, text, 30)
        assert exact == search(store._db, text, 30, resolve_prefix=False)
    finally:
        store.close()


def test_the_reads_of_one_search_see_one_state_of_the_store(store: Store) -> None:
    t = store.create_thread("t")
    store.add_message(t.id, "user", "first")
    other = Store.open(store._db.path)  # as another yachat on the same file
    try:
        with store._db.reading() as read:
            before = read("SELECT count(*) FROM messages", ())[0][0]
            other.add_message(t.id, "user", "second")
            assert read("SELECT count(*) FROM messages", ())[0][0] == before
        assert store._db.read("SELECT count(*) FROM messages")[0][0] == before + 1
    finally:
        other.close()
