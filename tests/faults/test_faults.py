"""Faults survived: a server killed mid-stream, quota exhausted, hostile output."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import anyio

from yachat.cli.session import AnswerPrinter
from yachat.core.chat import ChatCore
from yachat.core.events import Notice, RunEvent, TextDelta
from yachat.settings import Settings
from yachat.store.models import MessageStatus, RunStatus

from ..core.test_chat_runs import Recorder, send
from ..support import Script


def test_server_killed_mid_stream_fails_fast_keeps_the_part_and_retry_restarts_it(tmp_path: Path) -> None:
    script = Script(tmp_path / "script.json")
    script.set({"match": "story", "answer": "once upon a time " * 200, "chunk_chars": 8, "delay_ms": 10})
    settings = Settings(backend="local", local_engine="scripted", local_script=str(script.path),
                        store_path=tmp_path / "y.db", stream_idle_timeout_s=10)  # fmt: skip

    async def main() -> None:
        core = ChatCore.open_store(settings)
        try:
            backend = await core.connect()
            thread = core.new_thread()
            rec = Recorder()
            killed_at: list[float] = []

            def kill_after_some(update: RunEvent) -> None:
                rec(update)
                if isinstance(update, TextDelta) and len(rec.shown()) > 80 and not killed_at:
                    backend.owned_server.kill()  # SIGKILL, as a crash would
                    killed_at.append(time.monotonic())

            final = await core.send(thread.id, "tell a story", kill_after_some)
            assert time.monotonic() - killed_at[0] < 2.0  # the error within 2 s
            assert final.status is RunStatus.FAILED and "local model server" in (final.error or "")
            answer = core.store.list_messages(thread.id)[-1]
            assert answer.status is MessageStatus.FAILED and len(answer.text) >= 80  # the part is kept

            retried = await core.retry(thread.id, Recorder())  # starts a new server
            assert retried.status is RunStatus.COMPLETED and retried.text == "once upon a time " * 200
            assert [m.role for m in core.store.list_messages(thread.id)] == ["user", "assistant"]
            assert core.store.integrity_check() == "ok"
        finally:
            await core.aclose()

    anyio.run(main)


def test_quota_exhausted_retries_visibly_then_one_clear_error(core: ChatCore, script: Script) -> None:
    script.set({"match": "quota", "fault": {"kind": "status", "code": "RESOURCE_EXHAUSTED",
                                            "message": "quota exceeded", "after_chunks": 0}})  # fmt: skip
    thread = core.new_thread()
    final, rec = send(core, thread.id, "quota please")
    notices = [u.text for u in rec.updates if isinstance(u, Notice)]
    assert len([n for n in notices if "retrying in" in n]) == 4  # 5 attempts, 4 waits
    assert final.status is RunStatus.FAILED and final.error and final.error.startswith("Quota exceeded")
    assert [m.role for m in core.store.list_messages(thread.id)] == ["user", "assistant"]


def test_ask_on_a_terminal_strips_escapes_from_the_model(core: ChatCore) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = Terminal(), io.StringIO()
    printer = AnswerPrinter(out, err)
    hostile = "safe \x1b]52;c;cHduZWQ=\x07text\x1b[2J [bold]kept[/]"
    printer(TextDelta(1, 1, 1, text=hostile))
    assert out.getvalue() == "safe text [bold]kept[/]"


def test_exports_never_carry_escapes_but_json_keeps_exact_text(core: ChatCore) -> None:
    thread = core.new_thread("title \x1b]0;pwned\x07 [red]x[/]")
    hostile = "answer \x1b[2J\x1b]52;c;aGk=\x07 [@click=app.quit]y[/]"
    core.store.add_message(thread.id, "assistant", hostile)
    md = core.threads.export(thread.id, "md")
    assert "\x1b" not in md and "\x07" not in md and "[@click=app.quit]y[/]" in md
    data = json.loads(core.threads.export(thread.id, "json"))
    assert data["messages"][0]["text"] == hostile
    assert "\x1b" not in core.threads.export(thread.id, "json")  # escaped as \u001b in the file
