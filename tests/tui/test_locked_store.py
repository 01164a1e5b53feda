"""Another process holds the store's write lock: the TUI keeps taking keys."""

from __future__ import annotations

import sqlite3

import pytest

from yachat.core.chat import ChatCore
from yachat.settings import Settings

from .conftest import SIZE
from .test_streaming import flat, screen_text, type_and_send, wait_for

pytestmark = pytest.mark.anyio


async def test_keys_keep_working_while_the_store_is_locked(make_app, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    core = ChatCore.open_store(settings)
    thread = core.new_thread("Locked")
    app = make_app(thread.id, core=core)
    holder = sqlite3.connect(settings.store_path, isolation_level=None)
    try:
        async with app.run_test(size=SIZE) as pilot:
            holder.execute("BEGIN IMMEDIATE")  # what another yachat writing a long answer does
            await type_and_send(pilot, "6*7")
            # The send waits for the lock, off the loop: typing goes on meanwhile.
            for key in "still typing":
                await pilot.press("space" if key == " " else key)
            await wait_for(pilot, lambda: "still typing" in screen_text(app))
            assert holder.in_transaction  # the lock was held all along
            assert core.store.last_message(thread.id) is None  # the send is still waiting
            holder.execute("COMMIT")
            await wait_for(pilot, lambda: "6*7 = 42" in flat(screen_text(app)))
            await wait_for(pilot, lambda: not app.runs.streaming(thread.id))
            assert [m.role for m in core.store.list_messages(thread.id)] == ["user", "assistant"]
            assert app.composer.text == "still typing"
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
