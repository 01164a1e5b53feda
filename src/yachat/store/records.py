"""Rows to records."""

from __future__ import annotations

import json
import sqlite3

from yachat.store.models import (
    Assistant,
    ExpirationPolicy,
    Message,
    MessageStatus,
    Part,
    PartKind,
    RemoteMcp,
    Run,
    RunStatus,
    Thread,
    ToolStatus,
    WebSearch,
)


def assistant(r: sqlite3.Row) -> Assistant:
    return Assistant(
        id=r["id"],
        name=r["name"],
        model=r["model"],
        instruction=r["instruction"],
        temperature=r["temperature"],
        max_tokens=r["max_tokens"],
        keep_last_messages=r["keep_last_messages"],
        prompt_token_budget=r["prompt_token_budget"],
        created_at=r["created_at"],
        transport=r["transport"],
        reasoning_mode=r["reasoning_mode"],
        tools=tuple(json.loads(r["tools"])) if r["tools"] else None,
        web_search=web_search_from(r["web_search"]),
        remote_mcp=remote_mcp_from(r["remote_mcp"]),
    )


def web_search_from(text: str | None) -> WebSearch | None:
    if not text:
        return None
    data = json.loads(text)
    return WebSearch(
        enabled=bool(data.get("enabled", True)),
        domains=tuple(data.get("domains") or ()),
        region=data.get("region"),
        context_size=data.get("context_size"),
    )


def remote_mcp_from(text: str | None) -> tuple[RemoteMcp, ...]:
    if not text:
        return ()
    return tuple(
        RemoteMcp(
            label=s["label"],
            url=s["url"],
            headers=tuple((str(k), str(v)) for k, v in (s.get("headers") or {}).items()),
            require_approval=s.get("require_approval") or "always",
        )
        for s in json.loads(text)
    )


def web_search_json(value: WebSearch | None) -> str | None:
    if value is None:
        return None
    return json.dumps(
        {
            "enabled": value.enabled,
            "domains": list(value.domains),
            "region": value.region,
            "context_size": value.context_size,
        }
    )


def remote_mcp_json(servers: tuple[RemoteMcp, ...] | list[RemoteMcp]) -> str | None:
    if not servers:
        return None
    return json.dumps([_server_dict(s) for s in servers])


def _server_dict(server: RemoteMcp) -> dict[str, object]:
    return {
        "label": server.label,
        "url": server.url,
        "headers": dict(server.headers),
        "require_approval": server.require_approval,
    }


def thread(r: sqlite3.Row) -> Thread:
    return Thread(
        id=r["id"],
        name=r["name"],
        assistant_id=r["assistant_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        ttl_days=r["ttl_days"],
        expiration_policy=ExpirationPolicy(r["expiration_policy"]),
    )


def message(r: sqlite3.Row) -> Message:
    return Message(
        id=r["id"],
        thread_id=r["thread_id"],
        role=r["role"],
        text=r["text"],
        status=MessageStatus(r["status"]),
        created_at=r["created_at"],
        run_id=r["run_id"],
        token_count=r["token_count"],
        token_model=r["token_model"],
        reasoning=r["reasoning"],
        part_count=r["part_count"],
    )


def run(r: sqlite3.Row) -> Run:
    return Run(
        id=r["id"],
        thread_id=r["thread_id"],
        assistant_id=r["assistant_id"],
        model_uri=r["model_uri"],
        status=RunStatus(r["status"]),
        error=r["error"],
        input_tokens=r["input_tokens"],
        completion_tokens=r["completion_tokens"],
        total_tokens=r["total_tokens"],
        model_version=r["model_version"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        first_chunk_s=r["first_chunk_s"],
        tokens_per_s=r["tokens_per_s"],
        owner_lock=r["owner_lock"],
        answered_by=r["answered_by"],
        finish_reason=r["finish_reason"],
        prompt_tokens=r["prompt_tokens"],
        prompt_budget=r["prompt_budget"],
        omitted_messages=r["omitted_messages"],
        first_sent_message_id=r["first_sent_message_id"],
        reasoning_tokens=r["reasoning_tokens"],
        transport=r["transport"],
    )


def part(r: sqlite3.Row) -> Part:
    return Part(
        kind=PartKind(r["kind"]),
        text=r["text"],
        call_id=r["call_id"],
        tool=r["tool"],
        server=r["server"],
        arguments=r["arguments"],
        status=ToolStatus(r["status"]) if r["status"] else None,
        is_error=bool(r["is_error"]),
        duration_s=r["duration_s"],
        truncated_tokens=r["truncated_tokens"],
    )
