"""Many answers at once: every one intact and stored in its own thread."""

from __future__ import annotations

import anyio

from yachat.core.chat import ChatCore
from yachat.store.models import MessageStatus, RunStatus

from ..support import Script
from .test_chat_runs import Recorder

STREAMS = 20


def test_twenty_concurrent_streams_land_in_their_threads(core: ChatCore, script: Script) -> None:
    script.set(
        *[
            {
                "match": f"question-{i:02d}",
                "answer": f"answer {i:02d} " + "lorem " * 40,
                "chunk_chars": 7,
                "delay_ms": 5,
            }
            for i in range(STREAMS)
        ]
    )
    threads = [core.new_thread() for _ in range(STREAMS)]
    recorders = [Recorder() for _ in range(STREAMS)]

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i, (thread, rec) in enumerate(zip(threads, recorders, strict=True)):
                tg.start_soon(core.send, thread.id, f"question-{i:02d}", rec)

    anyio.run(main)
    for i, (thread, rec) in enumerate(zip(threads, recorders, strict=True)):
        expected = f"answer {i:02d} " + "lorem " * 40
        final = rec.updates[-1]
        assert final.status is RunStatus.COMPLETED, final.error
        assert rec.shown() == expected
        messages = core.store.list_messages(thread.id)
        assert [(m.role, m.text, m.status) for m in messages] == [
            ("user", f"question-{i:02d}", MessageStatus.COMPLETE),
            ("assistant", expected, MessageStatus.COMPLETE),
        ]
