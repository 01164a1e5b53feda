"""The real on-device model, end to end through the SDK (CI runs this too)."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from yachat.server.process import ServerProcess, start_server_process

from .test_wire import AlternativeStatus, collect, model


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("smollm2-home")
    with start_server_process("smollm2", env={"YACHAT_HOME": str(home)}, timeout=120) as srv:
        yield srv


@pytest.mark.slow
def test_smollm2_answers_through_the_sdk(smollm2: ServerProcess) -> None:
    messages = [
        {"role": "system", "text": "Answer in one short sentence."},
        {"role": "user", "text": "What is the capital of France?"},
    ]
    results = anyio.run(collect, model(smollm2, temperature=0.0, max_tokens=40), messages)
    final = results[-1].alternatives[0]
    assert final.status in (AlternativeStatus.FINAL, AlternativeStatus.TRUNCATED_FINAL)
    assert "Paris" in final.text
    assert all(r.alternatives[0].text for r in results)
    tokens = [r.usage.completion_tokens for r in results]
    assert tokens == sorted(set(tokens)) and tokens[-1] <= 40

    # Temperature 0 is deterministic: the same question gets the same answer.
    again = anyio.run(collect, model(smollm2, temperature=0.0, max_tokens=40), messages)
    assert again[-1].alternatives[0].text == final.text


@pytest.mark.slow
def test_smollm2_tokenizes_with_its_chat_template(smollm2: ServerProcess) -> None:
    tokens = anyio.run(model(smollm2).tokenize, [{"role": "user", "text": "ping"}])
    texts = [t.text for t in tokens]
    assert "<|im_start|>" in texts and any("ping" in t for t in texts)
    assert any(t.special for t in tokens)
