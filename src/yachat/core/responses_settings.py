"""An assistant's tools that Yandex runs (web search, remote MCP servers), from what a user
types and back: one place for the rules, so every front end checks them the same way."""

from __future__ import annotations

import shlex
from urllib.parse import urlparse

from yachat.core.responses_wire import WEB_SEARCH_DOMAINS_AT_MOST
from yachat.store.models import RemoteMcp, WebSearch

CONTEXT_SIZES = ("low", "medium", "high")
APPROVALS = ("always", "never")


def web_search_from(on: bool, domains: str, region: str, context_size: str | None) -> WebSearch | None:
    """The assistant's web search, or None when it is off and nothing is set.
    Raises ValueError with a sentence for the user."""
    sites = tuple(
        d.strip().removeprefix("https://").removeprefix("http://").strip("/") for d in domains.split(",")
    )
    sites = tuple(d for d in sites if d)
    if len(sites) > WEB_SEARCH_DOMAINS_AT_MOST:
        raise ValueError(f"web search takes at most {WEB_SEARCH_DOMAINS_AT_MOST} sites (got {len(sites)})")
    for site in sites:
        if " " in site or "." not in site:
            raise ValueError(f"{site!r} is not a site: write it as example.com")
    region = region.strip()
    if region and not region.isdigit():
        raise ValueError(f"the region is a Yandex region code, e.g. 213 for Moscow (got {region!r})")
    if context_size is not None and context_size not in CONTEXT_SIZES:
        raise ValueError(f"the search context is one of {', '.join(CONTEXT_SIZES)}")
    if not on and not sites and not region and context_size is None:
        return None
    return WebSearch(enabled=on, domains=sites, region=region or None, context_size=context_size)


def remote_mcp_from(text: str) -> tuple[RemoteMcp, ...]:
    """One server a line: `LABEL URL [always|never] [Header=value ...]`. Raises ValueError."""
    servers: list[RemoteMcp] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise ValueError(f"remote MCP line {number}: {exc}") from exc
        if len(words) < 2:
            raise ValueError(f"remote MCP line {number}: write LABEL URL [always|never] [Header=value …]")
        label, url, *rest = words
        if not label.replace("-", "").replace("_", "").isalnum():
            raise ValueError(
                f"remote MCP line {number}: the label is letters, digits, - and _ (got {label!r})"
            )
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"remote MCP line {number}: {url!r} is not an http(s) URL")
        approval = "always"
        if rest and rest[0] in APPROVALS:
            approval, rest = rest[0], rest[1:]
        headers = []
        for word in rest:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise ValueError(f"remote MCP line {number}: a header is Name=value (got {word!r})")
            headers.append((key, value))
        if label in {s.label for s in servers}:
            raise ValueError(f"remote MCP line {number}: the label {label!r} is used twice")
        servers.append(RemoteMcp(label, url, tuple(headers), approval))
    return tuple(servers)


def remote_mcp_text(servers: tuple[RemoteMcp, ...]) -> str:
    """The servers as `remote_mcp_from` reads them."""
    lines = []
    for server in servers:
        words = [server.label, server.url, server.require_approval]
        words += [f"{key}={value}" for key, value in server.headers]
        lines.append(" ".join(shlex.quote(w) for w in words))
    return "\n".join(lines)
