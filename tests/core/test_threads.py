"""The thread rules both front ends share, on a real store (no server needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.core.errors import UserFacingError
from yachat.core.threads import LastAnswerComplete, NoSuchThread, NothingToRerun, ThreadRules
from yachat.store import MessageStatus, RunStatus, Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "yachat.db")
    yield store
    store.close()


def answered(store: Store, thread_id: int, question: str, answer: str, status: MessageStatus) -> int:
    store.add_message(thread_id, "user", question)
    run = store.create_run(thread_id, None, "yandexgpt/latest")
    store.finish_run(run.id, RunStatus.COMPLETED if status == MessageStatus.COMPLETE else RunStatus.FAILED)
    return store.add_message(thread_id, "assistant", answer, status=status, run_id=run.id).id


def test_a_retry_replaces_only_an_answer_that_did_not_complete(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("t")
    with pytest.raises(NothingToRerun, match="no message to retry"):
        rules.rerun_target(thread.id, "retry")
    with pytest.raises(NothingToRerun, match="no message to answer"):
        rules.rerun_target(thread.id, "regenerate")
    failed = answered(store, thread.id, "q", "half", MessageStatus.FAILED)
    assert rules.rerun_target(thread.id, "retry").id == failed  # type: ignore[union-attr]
    assert rules.rerun_target(thread.id, "regenerate").id == failed  # type: ignore[union-attr]
    store.delete_message(failed)
    assert rules.rerun_target(thread.id, "retry") is None  # the question waits: nothing to replace
    complete = answered(store, thread.id, "q2", "whole", MessageStatus.COMPLETE)
    with pytest.raises(LastAnswerComplete) as caught:
        rules.rerun_target(thread.id, "retry")
    assert caught.value.thread_id == thread.id and "Regenerate" in caught.value.message
    assert rules.rerun_target(thread.id, "regenerate").id == complete  # type: ignore[union-attr]
    with pytest.raises(NoSuchThread):
        rules.rerun_target(thread.id + 99, "retry")


def test_delete_and_undo_put_back_every_row(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("kept")
    answered(store, thread.id, "q", "a", MessageStatus.COMPLETE)
    before = (store.get_thread(thread.id), store.list_messages(thread.id), store.list_runs(thread.id))
    snapshot = rules.delete(thread.id)
    assert snapshot is not None and store.get_thread(thread.id) is None
    restored = rules.undo_delete(snapshot)
    assert (restored, store.list_messages(thread.id), store.list_runs(thread.id)) == before
    assert rules.delete(thread.id, undoable=False) is None and store.get_thread(thread.id) is None
    with pytest.raises(NoSuchThread) as gone:
        rules.delete(thread.id)
    assert gone.value.thread_id == thread.id and isinstance(gone.value, UserFacingError)
    # A thread made since took the id: the undo says so instead of mixing two threads.
    other = store.create_thread("newer")
    if other.id == thread.id:
        with pytest.raises(StoreError):
            rules.undo_delete(snapshot)


def test_rename_strips_and_refuses_an_empty_name(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("old")
    assert rules.rename(thread.id, "  new name \n").name == "new name"
    with pytest.raises(UserFacingError, match="cannot be empty"):
        rules.rename(thread.id, "   ")
    with pytest.raises(NoSuchThread):
        rules.rename(thread.id + 1, "x")


def test_fork_on_edit_keeps_the_original(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("talk")
    answered(store, thread.id, "first", "one", MessageStatus.COMPLETE)
    edited = store.add_message(thread.id, "user", "second")
    fork = rules.fork_for_edit(thread.id, edited.id)
    assert fork.name == "talk (edited)" and fork.id != thread.id
    assert [m.text for m in store.list_messages(fork.id)] == ["first", "one"]
    assert [m.text for m in store.list_messages(thread.id)] == ["first", "one", "second"]


def test_a_thread_opens_settled(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("open me")
    # A run left in progress by a dead process shows as interrupted, never as streaming.
    run = store.create_run(thread.id, None, "yandexgpt/latest")
    store.add_message(thread.id, "assistant", "", status=MessageStatus.STREAMING, run_id=run.id)
    store.release_runs()
    assert rules.settled(thread.id).id == thread.id
    assert store.list_messages(thread.id)[-1].status == MessageStatus.INTERRUPTED
    with pytest.raises(NoSuchThread):
        rules.settled(thread.id + 1)


def test_an_export_file_always_gets_its_format_and_extension(store: Store, tmp_path: Path) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("export me")
    answered(store, thread.id, "q", "a", MessageStatus.COMPLETE)
    as_json = rules.export_to_file(thread.id, str(tmp_path / "out.JSON"))
    assert as_json == tmp_path / "out.JSON" and json.loads(as_json.read_text())["name"] == "export me"
    bare = rules.export_to_file(thread.id, str(tmp_path / "notes"))
    assert bare == tmp_path / "notes.md" and bare.read_text().startswith("# export me")
    forced = rules.export_to_file(thread.id, str(tmp_path / "data.txt"), "json")
    assert forced.name == "data.txt.json"
    with pytest.raises(UserFacingError, match="md or json"):
        rules.export_to_file(thread.id, str(tmp_path / "x.html"), "html")
    with pytest.raises(NoSuchThread):
        rules.export_to_file(thread.id + 1, str(tmp_path / "y.md"))
    assert not (tmp_path / "y.md").exists()
    with pytest.raises(OSError):
        rules.export_to_file(thread.id, str(tmp_path / "no such dir" / "z.md"))


def test_purge_says_whether_the_open_thread_went(store: Store) -> None:
    rules = ThreadRules(store)
    kept = store.create_thread("kept")
    assert rules.purge_expired(kept.id) == (0, False)
    expiring = store.create_thread("short", ttl_days=1)
    store.set_thread_ttl(expiring.id, 0, expiring.expiration_policy)  # expires now
    assert rules.purge_expired(expiring.id) == (1, True)
    assert rules.purge_expired(None) == (0, False)


def test_the_whole_thread_has_every_message_its_runs_and_sources(store: Store) -> None:
    rules = ThreadRules(store)
    thread = store.create_thread("whole")
    answer = answered(store, thread.id, "q", "a", MessageStatus.COMPLETE)
    whole = rules.whole(thread.id)
    assert whole.thread.id == thread.id and [m.text for m in whole.messages] == ["q", "a"]
    run_id = whole.messages[1].run_id
    assert whole.messages[1].id == answer and run_id is not None and set(whole.runs) == {run_id}
    assert whole.sources == {}
    with pytest.raises(NoSuchThread):
        rules.whole(thread.id + 1)
