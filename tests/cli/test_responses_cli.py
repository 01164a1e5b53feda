"""`yachat ask --transport responses`, run as a user runs it, continuing a thread by chaining."""

from __future__ import annotations

import sqlite3
from typing import Any

import openai

from ..support import Script
from .conftest import Yachat


def test_ask_over_responses_continues_a_thread_by_chaining(
    yachat: Yachat, script: Script, server: Any
) -> None:
    script.set({"match": "capital", "answer": "Paris."}, {"match": "river", "echo": True})
    first = yachat("ask", "--transport", "responses", "the capital of France?")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "Paris."
    thread_id = yachat("threads", "list").stdout.split()[0]
    second = yachat("--transport", "responses", "ask", "--thread", thread_id, "and its river?")
    assert second.returncode == 0, second.stderr
    # The server answered from the chain: the first turn was not sent again, yet it was seen.
    assert "the capital of France?" in second.stdout and "Paris." in second.stdout
    db = sqlite3.connect(yachat.home / "data" / "yachat.db")
    try:
        rows = db.execute(
            "SELECT r.transport, p.response_id FROM runs r JOIN run_responses p ON p.run_id = r.id ORDER BY r.id"
        ).fetchall()
    finally:
        db.close()
    assert [t for t, _ in rows] == ["responses", "responses"]
    client = openai.OpenAI(base_url=server.http_url, api_key=server.token, project="local")
    try:
        chained = client.responses.retrieve(rows[1][1])
        items = client.responses.input_items.list(rows[1][1])
    finally:
        client.close()
    assert chained.previous_response_id == rows[0][1] and len(items.data) == 1


def test_a_bad_transport_is_a_one_line_usage_error(yachat: Yachat) -> None:
    result = yachat("ask", "--transport", "carrier-pigeon", "hi")
    assert result.returncode == 2 and "--transport" in result.stderr


def test_ask_web_search_prints_the_pages_to_stderr(yachat: Yachat, script: Script) -> None:
    script.set()
    result = yachat("ask", "--web-search", "How deep is Lake Baikal?")
    assert result.returncode == 0, result.stderr
    assert "https://en.wikipedia.org/wiki/Lake_Baikal" in result.stderr
    assert "https://en.wikipedia.org/wiki/Lake_Baikal" not in result.stdout
