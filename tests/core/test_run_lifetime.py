"""A finished run leaves nothing of itself behind in contexts copied while it streamed."""

from __future__ import annotations

import contextvars
import gc
import weakref

import anyio

from yachat.core.chat import ChatCore
from yachat.core.events import RunEvent, TextDelta
from yachat.core.sdk import retry_reporter

from ..support import Script


class Sink:
    """A front end's update sink that copies the context mid-stream, as starting a task does."""

    def __init__(self, copied: list[contextvars.Context]) -> None:
        self.copied = copied

    def __call__(self, update: RunEvent) -> None:
        if isinstance(update, TextDelta) and not self.copied:
            self.copied.append(contextvars.copy_context())


def test_a_context_copied_during_a_stream_does_not_keep_the_run_alive(core: ChatCore, script: Script) -> None:
    script.set(answer="one two three four", chunk_chars=4)
    thread = core.new_thread()
    copied: list[contextvars.Context] = []
    sink = Sink(copied)
    alive = weakref.ref(sink)
    final = anyio.run(core.send, thread.id, "hello", sink)
    assert final.text == "one two three four"
    del sink, final
    gc.collect()
    assert copied and copied[0][retry_reporter] is not None  # the context did hold the reporter
    assert alive() is None  # but not the run, nor through it the front end's sink
    copied[0][retry_reporter](1.0, 1)  # and calling it after the stream does nothing
