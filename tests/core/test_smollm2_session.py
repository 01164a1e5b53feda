"""The seed session and a few more turns on the real on-device model: every run
completes, no prompt goes over the budget, and the oldest messages go first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.server.process import ServerProcess, start_server_process
from yachat.store.models import RunStatus

from ..support import local_settings
from .test_chat_runs import Recorder

# SmolLM2's context as the engine loads it when the server does not say (2,048 before
# the server reported its own); a small assistant budget makes the cut happen in a few turns.
SMOLLM2_CONTEXT = 2048
BUDGET = 180
TURNS = ["Привет!", "Сколько будет 2 + 2?", "А 15234 - 265?", "What is the capital of France?", "Thanks!"]


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("smollm2-home")
    with start_server_process("smollm2", env={"YACHAT_HOME": str(home)}, timeout=120) as srv:
        yield srv


@pytest.mark.slow
def test_a_session_on_smollm2_fits_its_budget(smollm2: ServerProcess, tmp_path: Path) -> None:
    core = ChatCore.open_store(local_settings(smollm2, tmp_path, stream_idle_timeout_s=60))
    assistant = core.store.default_assistant()
    core.store.update_assistant(assistant.id, prompt_token_budget=BUDGET, max_tokens=48, temperature=0.0)
    thread = core.new_thread()

    async def main() -> list[RunStatus | None]:
        try:
            backend = await core.connect()
            backend.context_tokens = backend.context_tokens or SMOLLM2_CONTEXT
            statuses = []
            for question in TURNS:
                final = await core.send(thread.id, question, Recorder())
                statuses.append(final.status)
            return statuses
        finally:
            await core.aclose()

    try:
        statuses = anyio.run(main)
        assert statuses == [RunStatus.COMPLETED] * len(TURNS)
        store = core.store.__class__.open(tmp_path / "yachat.db")
        try:
            runs = store.list_runs(thread.id)
            for run in runs:
                # The model's own tokenizer, on the server: never over the budget.
                assert run.input_tokens is not None and run.input_tokens <= BUDGET
                assert run.prompt_tokens == run.input_tokens
                assert run.answered_by and "yandexgpt" not in run.answered_by
            assert runs[-1].omitted_messages  # by the last turn the oldest were left out
            assert all(m.text.strip() for m in store.list_messages(thread.id))
        finally:
            store.close()
    finally:
        core.store.close()
