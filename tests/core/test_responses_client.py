"""The `openai` client yachat builds for the Responses API: its headers come from the SDK's
auth at each request (an IAM token that changes is picked up), the folder is OpenAI-Project;
and the chain plan's reasons to send a thread whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from yachat.core.backend import Backend
from yachat.core.chat import ChatCore
from yachat.core.errors import UserFacingError
from yachat.core.responses_client import build_responses_client, responses_base_url
from yachat.core.responses_context import chain_plan
from yachat.core.responses_errors import explain_openai
from yachat.core.sdk import build_sdk, load_sdk
from yachat.settings import Settings

from ..support import Script


def test_each_request_takes_the_token_the_sdk_has_then(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EnvIAMTokenAuth reads YC_TOKEN at every request, as a token kept fresh outside would be."""
    import openai

    load_sdk()
    from yandex_ai_studio_sdk.auth import EnvIAMTokenAuth

    settings = Settings(store_path=tmp_path / "y.db", config_path=tmp_path / "c.toml")
    backend = Backend(
        kind="local", endpoint=server.address, folder_id="local", description="", reason="", verify=False,
        auth=EnvIAMTokenAuth(), http_url=server.http_url,
    )  # fmt: skip

    async def main() -> list[str]:
        sdk = build_sdk(
            folder_id="local", auth=backend.auth, endpoint=backend.endpoint, verify=False,
            enable_server_data_logging=False,
        )  # fmt: skip
        client = build_responses_client(sdk, backend, settings)
        outcomes = []
        for token in (server.token, "t1.expired-token", server.token):
            monkeypatch.setenv("YC_TOKEN", token)
            try:
                await client.models.list()
                outcomes.append("ok")
            except openai.AuthenticationError as exc:
                said = explain_openai(exc, backend_kind="local")
                assert said is not None and "\n" not in said.message
                outcomes.append("refused")
        await client.close()
        return outcomes

    assert anyio.run(main) == ["ok", "refused", "ok"]


def test_the_base_url_is_the_local_server_s_or_the_configured_one(tmp_path: Path) -> None:
    settings = Settings(responses_endpoint="https://example.test/v1/", store_path=tmp_path / "y.db")
    cloud = Backend("cloud", "api:443", "b1g", "", "", True, auth=None)
    local = Backend(
        "local", "127.0.0.1:1", "local", "", "", False, auth=None, http_url="http://127.0.0.1:2/v1/"
    )
    assert responses_base_url(settings, cloud) == "https://example.test/v1"
    assert responses_base_url(settings, local) == "http://127.0.0.1:2/v1"
    with pytest.raises(UserFacingError, match="no HTTP API"):
        responses_base_url(settings, Backend("local", "h:1", "local", "", "", False, auth=None))


def test_a_chain_is_not_followed_to_another_endpoint_or_past_the_budget(
    core: ChatCore, script: Script
) -> None:
    script.set({"match": "q", "answer": "A."})
    made = core.store.create_assistant("r", "yandexgpt/latest", transport="responses")
    thread_id = core.new_thread(assistant_id=made.id).id

    async def ask(text: str) -> None:
        await core.send(thread_id, text, lambda _e: None)

    anyio.run(ask, "q1")
    ((endpoint, print_, context),) = core.store._db.read(
        "SELECT endpoint, fingerprint, context_tokens FROM run_responses"
    )
    core.store.add_message(thread_id, "user", "q2")
    items = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "A."},
        {"role": "user", "content": "q2"},
    ]
    later = 10**9  # a run after every run of the thread

    def plan(endpoint: str = endpoint, print_: str = print_, budget: int | None = None) -> Any:
        return chain_plan(core.store, thread_id, later, 0, items, endpoint, print_, budget)

    assert plan().previous_response_id is not None and plan().items == [{"role": "user", "content": "q2"}]
    assert plan(endpoint="https://elsewhere/v1|b1g").previous_response_id is None
    assert "another endpoint" in plan(endpoint="https://elsewhere/v1|b1g").reason
    assert plan(print_="changed").previous_response_id is None
    assert "budget" in plan(budget=context + 1).reason and plan(budget=context + 1).items == items
    # A message deleted before the answer: the server's chain no longer matches the thread.
    first = core.store.list_messages(thread_id)[0]
    core.store.delete_message(first.id)
    assert plan().previous_response_id is None
