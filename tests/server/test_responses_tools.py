"""Hosted tools of the local Responses API: web search from the shipped corpus, remote MCP
servers (a real one over streamable HTTP), with the real `openai` client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from yachat.server.responses.web_search import corpus

from .responses_support import MODEL, Served, serve, wait_for

MCP_SERVER = Path(__file__).parents[1] / "mcp" / "server.py"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("responses-tools")) as s:
        yield s


@pytest.fixture(scope="module")
def mcp_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, str(MCP_SERVER), "http"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "port N" once it listens
        assert line.startswith("port "), line
        yield f"http://127.0.0.1:{line.split()[1]}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_the_corpus_is_a_dozen_pages_with_urls_and_titles() -> None:
    pages = corpus()
    assert len(pages) >= 12
    assert all(p.url.startswith("https://") and p.title and p.text for p in pages)


def test_web_search_streams_its_call_then_a_cited_answer(served: Served) -> None:
    served.script.set()
    client = served.client()
    with client.responses.stream(
        model=MODEL, input="How deep is Lake Baikal?", tools=[{"type": "web_search"}]
    ) as stream:
        events = list(stream)
        response = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[2:7] == [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_item.done",
    ]
    assert "response.output_text.annotation.added" in kinds
    call, message = response.output
    assert call.type == "web_search_call" and call.status == "completed"
    action: Any = call.action
    assert action.query == "How deep is Lake Baikal?"
    urls = [s.url for s in action.sources]
    assert urls[0] == "https://en.wikipedia.org/wiki/Lake_Baikal"
    assert message.type == "message"
    annotations = message.content[0].annotations  # type: ignore[union-attr]
    assert [a.url for a in annotations] == urls
    assert annotations[0].type == "url_citation" and annotations[0].title == "Lake Baikal"
    assert annotations[0].end_index == len(response.output_text)


def test_the_model_reads_what_the_search_found(served: Served) -> None:
    served.script.set({"match": "Baikal", "echo": True})
    response = served.client().responses.create(
        model=MODEL, input="Baikal depth", tools=[{"type": "web_search", "search_context_size": "low"}]
    )
    assert "Web search results:\n[1] Lake Baikal (https://en.wikipedia.org/wiki/Lake_Baikal)" in (
        response.output_text
    )
    call = response.output[0]
    assert len(call.action.sources) == 1  # type: ignore[union-attr]  # low: one page


def test_allowed_domains_and_region_filter_the_pages(served: Served) -> None:
    served.script.set()
    client = served.client()
    only_wiki = {
        "type": "web_search",
        "filters": {"allowed_domains": ["wikipedia.org"]},
        "search_context_size": "high",
    }
    response = client.responses.create(
        model=MODEL, input="weather Moscow Serpukhov platypus", tools=[only_wiki]
    )  # type: ignore[list-item]
    urls = [s.url for s in response.output[0].action.sources]  # type: ignore[union-attr]
    assert urls and all("wikipedia.org" in u for u in urls)
    in_petersburg = {"type": "web_search", "user_location": {"region": "2"}}
    response = client.responses.create(model=MODEL, input="weather today", tools=[in_petersburg])  # type: ignore[list-item]
    urls = [s.url for s in response.output[0].action.sources]  # type: ignore[union-attr]
    assert urls == ["https://www.gismeteo.ru/weather-sankt-peterburg-4079/"]


def test_mcp_tools_are_listed_and_called_without_approval(served: Served, mcp_url: str) -> None:
    served.script.set()
    tool = {"type": "mcp", "server_label": "test", "server_url": mcp_url, "require_approval": "never"}
    client = served.client()
    with client.responses.stream(model=MODEL, input="echo hello there", tools=[tool]) as stream:  # type: ignore[list-item]
        kinds = [e.type for e in stream]
        response = stream.get_final_response()
    listed, call, message = response.output
    assert listed.type == "mcp_list_tools" and "echo" in [t.name for t in listed.tools]
    assert call.type == "mcp_call" and call.name == "echo" and call.server_label == "test"
    assert json.loads(call.arguments) == {"text": "hello there"} and call.output == "hello there"
    assert message.type == "message" and response.output_text == "echo returned hello there"
    assert "response.mcp_list_tools.completed" in kinds and "response.mcp_call.completed" in kinds
    assert "response.mcp_call_arguments.delta" in kinds
    # Chained: the tools are listed once per chain.
    again = client.responses.create(
        model=MODEL,
        input="echo again",
        tools=[tool],
        previous_response_id=response.id,  # type: ignore[list-item]
    )
    assert [i.type for i in again.output] == ["mcp_call", "message"]


def test_mcp_approval_request_then_approved_and_declined(served: Served, mcp_url: str) -> None:
    served.script.set()
    tool = {"type": "mcp", "server_label": "test", "server_url": mcp_url, "require_approval": "always"}
    client = served.client()
    asked = client.responses.create(model=MODEL, input="echo approve me", tools=[tool])  # type: ignore[list-item]
    request = asked.output[-1]
    assert request.type == "mcp_approval_request" and request.name == "echo"
    approved = client.responses.create(
        model=MODEL,
        tools=[tool],  # type: ignore[list-item]
        previous_response_id=asked.id,
        input=[{"type": "mcp_approval_response", "approve": True, "approval_request_id": request.id}],
    )
    call = approved.output[0]
    assert call.type == "mcp_call" and call.approval_request_id == request.id and call.output == "approve me"
    assert approved.output_text == "echo returned approve me"
    declined = client.responses.create(
        model=MODEL,
        tools=[tool],  # type: ignore[list-item]
        previous_response_id=asked.id,
        input=[{"type": "mcp_approval_response", "approve": False, "approval_request_id": request.id}],
    )
    assert [i.type for i in declined.output] == ["message"]


def test_an_unreachable_mcp_server_is_a_424(served: Served) -> None:
    tool = {
        "type": "mcp",
        "server_label": "gone",
        "server_url": "http://127.0.0.1:9/mcp",
        "require_approval": "never",
    }
    with pytest.raises(openai.APIStatusError) as caught:
        served.client(max_retries=0).responses.create(model=MODEL, input="echo x", tools=[tool])  # type: ignore[list-item]
    assert caught.value.status_code == 424 and "Error retrieving tool list" in caught.value.message


def _store(client: openai.OpenAI, files: dict[str, str]) -> tuple[str, dict[str, str]]:
    ids = {
        name: client.files.create(file=(name, text.encode()), purpose="assistants").id
        for name, text in files.items()
    }
    store = client.vector_stores.create(name="notes", file_ids=list(ids.values()))
    wait_for(lambda: client.vector_stores.retrieve(store.id).status == "completed", timeout=30)
    return store.id, ids


def test_file_search_finds_the_store_s_files_and_cites_them(served: Served) -> None:
    served.script.set()
    client = served.client()
    store, ids = _store(
        client,
        {
            "bali.txt": "Bali is an Indonesian island with surf at Uluwatu and temples in Ubud.",
            "kazan.txt": "Kazan is the capital of Tatarstan on the Volga, with a white kremlin.",
        },
    )
    tool = {"type": "file_search", "vector_store_ids": [store], "max_num_results": 1}
    with client.responses.stream(
        model=MODEL,
        input="Where is the surf at Uluwatu?",
        tools=[tool],
        include=["file_search_call.results"],  # type: ignore[list-item]
    ) as stream:
        kinds = [e.type for e in stream]
        response = stream.get_final_response()
    assert "response.file_search_call.searching" in kinds and "response.file_search_call.completed" in kinds
    call, message = response.output
    assert call.type == "file_search_call" and call.queries == ["Where is the surf at Uluwatu?"]
    assert call.results is not None and [r.filename for r in call.results] == ["bali.txt"]
    assert "Uluwatu" in (call.results[0].text or "")
    annotations = message.content[0].annotations  # type: ignore[union-attr]
    assert [(a.type, a.file_id, a.filename) for a in annotations] == [
        ("file_citation", ids["bali.txt"], "bali.txt")
    ]
    # Without the include, the results stay out of the item; the citations do not.
    plain = client.responses.create(model=MODEL, input="Uluwatu surf", tools=[tool])  # type: ignore[list-item]
    assert plain.output[0].results is None  # type: ignore[union-attr]
    assert plain.output[1].content[0].annotations  # type: ignore[union-attr]


def test_file_search_takes_one_known_store(served: Served) -> None:
    client = served.client()
    two = {"type": "file_search", "vector_store_ids": ["fvtaaaaaaaaaaaaaaaaa", "fvtbbbbbbbbbbbbbbbbb"]}
    with pytest.raises(openai.BadRequestError, match="only one search index"):
        client.responses.create(model=MODEL, input="x", tools=[two])  # type: ignore[list-item]
    unknown = {"type": "file_search", "vector_store_ids": ["fvtaaaaaaaaaaaaaaaaa"]}
    with pytest.raises(openai.NotFoundError, match="Vector store with id 'fvtaaaaaaaaaaaaaaaaa' not found"):
        client.responses.create(model=MODEL, input="x", tools=[unknown])  # type: ignore[list-item]
