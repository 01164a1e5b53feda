"""`yachat models`, and a reasoning model's answer from the shell: answer on stdout,
reasoning on stderr, both in `threads show` and the exports."""

from __future__ import annotations

import json

from ..support import Script
from .conftest import Yachat


def test_models_lists_the_local_servers_model_with_its_context(yachat: Yachat) -> None:
    # yachat starts its own server here: a server it starts tells it its context.
    for var in ("YACHAT_LOCAL_ADDRESS", "YACHAT_LOCAL_HTTP_URL", "YACHAT_LOCAL_TOKEN"):
        yachat.env.pop(var)
    result = yachat("models", "--engine", "scripted", YACHAT_SERVE_CONTEXT="4096")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["MODEL", "TRANSPORT", "CONTEXT", "REASONING"]
    assert [row.split() for row in rows] == [["scripted/latest", "grpc", "4,096"]]


def test_a_server_named_by_address_lists_its_model(yachat: Yachat) -> None:
    result = yachat("models")
    assert result.returncode == 0, result.stderr
    assert [row.split()[:2] for row in result.stdout.splitlines()[1:]] == [["scripted/latest", "grpc"]]


def test_a_reasoning_model_streams_its_thinking_to_stderr(yachat: Yachat, script: Script) -> None:
    script.set(
        {
            "match": "primes",
            "reasoning": "2, 3, 5 and 7 are below 10.",
            "answer": "There are 4.",
            "chunk_chars": 6,
        }
    )
    result = yachat("ask", "--model", "gpt-oss-120b", "how many primes below 10?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "There are 4.\n"  # stdout holds the answer alone
    assert "thinking: 2, 3, 5 and 7 are below 10.\n" in result.stderr
    assert result.stderr.splitlines()[-2].startswith("[tokens: ")

    shown = yachat("threads", "show", "1").stdout
    assert "assistant · gpt-oss-120b/latest · " in shown
    assert "thinking: 2, 3, 5 and 7 are below 10.\nThere are 4." in shown

    exported = json.loads(yachat("threads", "export", "1", "--format", "json").stdout)
    answer = exported["messages"][-1]
    assert answer["reasoning"] == "2, 3, 5 and 7 are below 10." and answer["transport"] == "http"
    assert answer["usage"]["reasoning_tokens"] is None  # the chat API's usage does not count it
    markdown = yachat("threads", "export", "1").stdout
    assert "> **Thinking**\n>\n> 2, 3, 5 and 7 are below 10.\n\nThere are 4." in markdown

    found = yachat("threads", "search", "below")
    assert found.returncode == 0 and "assistant:" in found.stdout
