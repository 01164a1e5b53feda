"""Saving an assistant and switching its model, on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yachat.core.assistants import AssistantRules
from yachat.core.errors import UserFacingError
from yachat.core.transport import Transport
from yachat.store import ExpirationPolicy, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "yachat.db")
    yield store
    store.close()


def test_saved_for_a_thread_or_as_the_default(store: Store) -> None:
    rules = AssistantRules(store)
    first_default = store.default_assistant()
    thread = store.create_thread("t", first_default.id)
    made = rules.save(
        None,
        {"name": "poet", "model": "yandexgpt/rc"},
        thread_id=thread.id,
        ttl_days=3,
        policy=ExpirationPolicy.SINCE_LAST_ACTIVE,
    )
    saved = store.get_thread(thread.id)
    assert saved is not None and saved.assistant_id == made.id
    assert (saved.ttl_days, saved.expiration_policy) == (3, ExpirationPolicy.SINCE_LAST_ACTIVE)
    assert store.default_assistant() == first_default  # for one thread only
    rules.save(made.id, {"instruction": "rhyme"}, thread_id=thread.id, make_default=True)
    assert store.default_assistant().instruction == "rhyme"
    # With no thread open, what is saved is what new threads get.
    other = rules.save(None, {"name": "plain", "model": "yandexgpt-lite"})
    assert store.default_assistant() == other


def test_a_new_model_drops_what_applied_to_the_old_one(store: Store) -> None:
    rules = AssistantRules(store)
    assistant = store.create_assistant("r", "qwen3-235b-a22b-fp8", transport="http", reasoning_mode="high")
    switch = rules.switch_model(assistant.id, "yandexgpt/rc")
    assert switch.transport is Transport.GRPC and switch.reasoning_dropped == "high"
    assert (switch.assistant.model, switch.assistant.transport, switch.assistant.reasoning_mode) == (
        "yandexgpt/rc",
        None,
        None,
    )
    kept = store.update_assistant(assistant.id, reasoning_mode="enabled_hidden")
    switch = rules.switch_model(kept.id, "gpt://b1g/yandexgpt-lite/latest@tuned")
    assert switch.reasoning_dropped is None and switch.assistant.reasoning_mode == "enabled_hidden"
    with pytest.raises(UserFacingError, match="is not a model"):
        rules.switch_model(assistant.id, "yandex gpt")
    with pytest.raises(UserFacingError, match="does not exist"):
        rules.switch_model(assistant.id + 100, "yandexgpt")
