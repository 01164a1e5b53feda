"""Stored state of the local Responses API: chaining, conversations, input items, delete,
expiry, errors in Yandex's words, and the log line per request."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from .responses_support import FOLDER, MODEL, Served, serve, wait_for

WEATHER = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # A short TTL so one test can see a stored response expire; the others finish well inside it.
    with serve(tmp_path_factory.mktemp("responses-state"), "--responses-ttl", "30") as s:
        yield s


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("responses-ttl"), "--responses-ttl", "1") as s:
        yield s


def test_chaining_grows_the_input_the_engine_sees(served: Served) -> None:
    served.script.set()
    client = served.client()
    first = client.responses.create(model=MODEL, input="I live in Serpukhov.")
    second = client.responses.create(model=MODEL, input="Where do I live?", previous_response_id=first.id)
    third = client.responses.create(model=MODEL, input="And again?", previous_response_id=second.id)
    tokens = [r.usage.input_tokens for r in (first, second, third) if r.usage is not None]
    assert len(tokens) == 3 and tokens[0] < tokens[1] < tokens[2]
    assert third.previous_response_id == second.id
    # Each chained request is logged with its previous id and its own input items only.
    lines = wait_for(lambda: served.log_lines(f"previous_response_id={second.id} input_items=1"))
    assert len(lines) == 1
    assert served.log_lines("previous_response_id=none input_items=1")


def test_the_chained_context_is_what_the_engine_reads(served: Served) -> None:
    client = served.client()
    served.script.set()
    first = client.responses.create(model=MODEL, input="remember the word kumquat", instructions="Be terse.")
    served.script.set({"match": "echo", "echo": True})
    echoed = client.responses.create(model=MODEL, input="echo", previous_response_id=first.id)
    assert echoed.output_text.splitlines() == [
        "user: remember the word kumquat",
        f"assistant: {first.output_text}",
        "user: echo",
    ]  # instructions are per request (Yandex: resend them), so the first's are not carried


def test_function_call_round_trip_by_chaining(served: Served) -> None:
    served.script.set()
    client = served.client()
    with client.responses.stream(model=MODEL, input="weather Krasnoyarsk", tools=[WEATHER]) as stream:
        kinds = [e.type for e in stream]
        first = stream.get_final_response()
    assert kinds[2:4] == ["response.output_item.added", "response.function_call_arguments.delta"]
    assert "response.function_call_arguments.done" in kinds
    [call] = first.output
    assert call.type == "function_call" and call.name == "weather"
    assert json.loads(call.arguments) == {"city": "Krasnoyarsk"}
    answer = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"t": "+12"}'}],
    )
    assert answer.output_text == 'weather returned {"t": "+12"}'


def test_function_call_round_trip_without_state(served: Served) -> None:
    served.script.set()
    client = served.client()
    question = [{"role": "user", "content": "weather Omsk"}]
    first = client.responses.create(model=MODEL, input=question, tools=[WEATHER], store=False)
    call = first.output[0]
    assert call.type == "function_call"
    history = [*question, call.model_dump(exclude_none=True)]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    answer = client.responses.create(model=MODEL, input=history, tools=[WEATHER])
    assert answer.output_text == "weather returned sunny"


def test_an_output_for_an_unknown_call_is_a_400(served: Served) -> None:
    client = served.client()
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        client.responses.create(
            model=MODEL, input=[{"type": "function_call_output", "call_id": "nope", "output": "x"}]
        )


def test_input_items_are_paged(served: Served) -> None:
    served.script.set()
    client = served.client()
    words = [f"word {i}" for i in range(5)]
    response = client.responses.create(model=MODEL, input=[{"role": "user", "content": w} for w in words])
    everything = client.responses.input_items.list(response.id, order="asc")
    assert [i.content[0].text for i in everything.data] == words  # type: ignore[union-attr]
    first_page = client.responses.input_items.list(response.id, limit=2, order="asc")
    assert first_page.has_more and len(first_page.data) == 2
    assert first_page.first_id == first_page.data[0].id and first_page.last_id == first_page.data[1].id
    rest = client.responses.input_items.list(response.id, limit=10, order="asc", after=first_page.last_id)
    assert [i.content[0].text for i in rest.data] == words[2:]  # type: ignore[union-attr]
    assert not rest.has_more
    newest_first = client.responses.input_items.list(response.id)
    assert newest_first.data[0].content[0].text == "word 4"  # type: ignore[union-attr]
    # The client follows the pages itself.
    assert len(list(client.responses.input_items.list(response.id, limit=2))) == 5


def test_delete_then_get_is_a_404(served: Served) -> None:
    client = served.client()
    response = client.responses.create(model=MODEL, input="short-lived")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body == {
        "code": "not_found",
        "message": f"Response with id '{response.id}' not found.",
        "param": "response_id",
        "type": "not_found_error",
    }
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)


def test_unknown_previous_response_is_refused(served: Served) -> None:
    client = served.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model=MODEL, input="hi", previous_response_id="00000000-0000-4000-8000-000000000000"
        )
    assert caught.value.code == "previous_response_not_found"
    assert "Previous response with id '00000000-0000-4000-8000-000000000000' not found." in str(caught.value)


def test_an_expired_response_is_gone_and_cannot_be_chained(short_lived: Served) -> None:
    short_lived.script.set()
    client = short_lived.client()
    response = client.responses.create(model=MODEL, input="soon forgotten")

    def expired() -> bool:
        try:
            client.responses.retrieve(response.id)
        except openai.NotFoundError:
            return True
        return False

    wait_for(expired, timeout=10)
    with pytest.raises(openai.BadRequestError, match="not found"):
        client.responses.create(model=MODEL, input="again", previous_response_id=response.id)


def test_wrong_key_is_an_authentication_error(served: Served) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        served.client(api_key="not-the-token").responses.create(model=MODEL, input="hi")
    assert caught.value.status_code == 401 and caught.value.body["type"] == "unauthorized"  # type: ignore[index]


def test_api_key_scheme_is_accepted(served: Served) -> None:
    served.script.set()
    reply = httpx.post(
        served.base_url + "/responses",
        json={"model": MODEL, "input": "hi"},
        headers={"Authorization": f"Api-Key {served.process.token}", "OpenAI-Project": FOLDER},
    )
    assert reply.status_code == 200 and reply.json()["status"] == "completed"


def test_unknown_model_and_foreign_folder_are_refused(served: Served) -> None:
    client = served.client()
    with pytest.raises(openai.BadRequestError, match="invalid model_uri"):
        client.responses.create(model=f"gpt://{FOLDER}/no-such-model", input="hi")
    with pytest.raises(openai.PermissionDeniedError, match="Access to model gpt://b1gother/yandexgpt denied"):
        client.responses.create(model="gpt://b1gother/yandexgpt", input="hi")
    bare = client.responses.create(model="yandexgpt/latest", input="hi")  # in the header's folder
    assert bare.status == "completed"


def test_too_many_domains_is_a_400(served: Served) -> None:
    domains = [f"site{i}.ru" for i in range(6)]
    tool = {"type": "web_search", "filters": {"allowed_domains": domains}}
    with pytest.raises(openai.BadRequestError, match="at most 5 domains"):
        served.client().responses.create(model=MODEL, input="hi", tools=[tool])  # type: ignore[list-item]


def test_cancel_is_for_background_responses_only(served: Served) -> None:
    served.script.set({"match": "slow", "answer": "a b c d e f g h", "chunk_chars": 1, "delay_ms": 200})
    client = served.client()
    done = client.responses.create(model=MODEL, input="quick")
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a synchronous response"):
        client.responses.cancel(done.id)
    queued = client.responses.create(model=MODEL, input="slow", background=True)
    assert queued.status == "queued"
    cancelled = client.responses.cancel(queued.id)
    assert cancelled.status == "cancelled"
    served.script.set()
    background = client.responses.create(model=MODEL, input="in the background", background=True)
    finished = wait_for(lambda: (r := client.responses.retrieve(background.id)).status == "completed" and r)
    assert finished.output_text.startswith('You said: "in the background"')


def test_conversation_collects_the_items_of_its_responses(served: Served) -> None:
    served.script.set()
    client = served.client()
    conversation = client.conversations.create(metadata={"topic": "fruit"})
    assert conversation.object == "conversation" and conversation.metadata == {"topic": "fruit"}
    first = client.responses.create(model=MODEL, input="apples", conversation=conversation.id)
    assert first.conversation is not None and first.conversation.id == conversation.id
    second = client.responses.create(model=MODEL, input="pears", conversation=conversation.id)
    assert second.usage is not None and first.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens
    items = client.conversations.items.list(conversation.id, order="asc")
    roles = [(i.type, getattr(i, "role", None)) for i in items.data]
    assert roles == [("message", "user"), ("message", "assistant")] * 2
    added = client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "plums"}]
    )
    one = client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    assert one.content[0].text == "plums"  # type: ignore[union-attr]
    assert client.conversations.retrieve(conversation.id).id == conversation.id


def test_conversation_update_and_delete_are_not_supported(served: Served) -> None:
    client = served.client()
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError, match="not supported"):
        client.conversations.update(conversation.id, metadata={"a": "b"})
    with pytest.raises(openai.BadRequestError, match="not supported"):
        client.conversations.delete(conversation.id)
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve("00000000-0000-4000-8000-000000000000")
    with pytest.raises(openai.BadRequestError, match="Mutually exclusive"):
        first = client.responses.create(model=MODEL, input="x")
        client.responses.create(
            model=MODEL, input="y", conversation=conversation.id, previous_response_id=first.id
        )
