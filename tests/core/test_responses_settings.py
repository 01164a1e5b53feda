"""An assistant's web search and remote MCP servers, as typed in ctrl+s: the rules, one line each."""

from __future__ import annotations

import pytest

from yachat.core.responses_settings import remote_mcp_from, remote_mcp_text, web_search_from
from yachat.core.responses_wire import hosted_tools
from yachat.store.models import Assistant, RemoteMcp, WebSearch


def test_web_search_as_typed() -> None:
    assert web_search_from(False, "", "", None) is None
    search = web_search_from(True, "https://ria.ru/, gismeteo.ru", "213", "high")
    assert search == WebSearch(True, ("ria.ru", "gismeteo.ru"), "213", "high")


@pytest.mark.parametrize(
    ("sites", "region", "said"),
    [
        ("a.ru, b.ru, c.ru, d.ru, e.ru, f.ru", "", "at most 5"),
        ("not a site", "", "not a site"),
        ("", "Moscow", "region code"),
    ],
)
def test_web_search_refusals(sites: str, region: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        web_search_from(True, sites, region, None)


def test_remote_mcp_lines_read_back_as_written() -> None:
    text = (
        "hub https://mcp.example.com/sse never Authorization='Api-Key k 1'\n\n# a note\nkontur http://h/mcp"
    )
    servers = remote_mcp_from(text)
    assert servers == (
        RemoteMcp("hub", "https://mcp.example.com/sse", (("Authorization", "Api-Key k 1"),), "never"),
        RemoteMcp("kontur", "http://h/mcp", (), "always"),
    )
    assert remote_mcp_from(remote_mcp_text(servers)) == servers


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("hub", "LABEL URL"),
        ("hub ftp://x", "not an http"),
        ("hub http://a\nhub http://b", "twice"),
        ("h http://a X", "Name=value"),
    ],
)
def test_remote_mcp_refusals(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        remote_mcp_from(text)


def test_hosted_tools_in_the_api_s_shapes() -> None:
    assistant = Assistant(
        1, "a", "yandexgpt", "", None, None, None, None, 0.0,
        web_search=WebSearch(True, ("ria.ru",), "213", "low"),
        remote_mcp=(RemoteMcp("hub", "https://h/mcp", (("X-Key", "v"),), "never"),),
    )  # fmt: skip
    assert hosted_tools(assistant) == [
        {"type": "web_search", "filters": {"allowed_domains": ["ria.ru"]}, "user_location": {"region": "213"},
         "search_context_size": "low"},
        {"type": "mcp", "server_label": "hub", "server_url": "https://h/mcp", "require_approval": "never",
         "headers": {"X-Key": "v"}},
    ]  # fmt: skip
    off = Assistant(1, "a", "yandexgpt", "", None, None, None, None, 0.0)
    assert hosted_tools(off) == [] and hosted_tools(off, web_search=True) == [{"type": "web_search"}]
