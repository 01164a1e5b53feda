"""Assistants: saved profiles of model, instruction and sampling settings."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from yachat.store import records
from yachat.store.db import Database
from yachat.store.errors import StoreError, must
from yachat.store.models import Assistant, RemoteMcp, WebSearch

# The seed's Assistant API fitted every thread to 7,000 prompt tokens by default.
DEFAULT_PROMPT_TOKEN_BUDGET = 7000
DEFAULT_ASSISTANT = {
    "name": "Default",
    "model": "yandexgpt/latest",
    "instruction": "You are a helpful assistant.",
    "temperature": 0.3,
    "max_tokens": 2000,
    "prompt_token_budget": DEFAULT_PROMPT_TOKEN_BUDGET,
}
_ASSISTANT_FIELDS = (
    "name",
    "model",
    "instruction",
    "temperature",
    "max_tokens",
    "keep_last_messages",
    "prompt_token_budget",
    "transport",
    "reasoning_mode",
    "tools",
    "web_search",
    "remote_mcp",
)


class AssistantStore:
    _db: Database
    path: Any

    def _ensure_default_assistant(self) -> None:
        if self._db.read("SELECT value FROM meta WHERE key = 'default_assistant'"):
            return
        with self._db.write() as conn:
            # Re-check inside the write lock: another process may have just made it.
            if conn.execute("SELECT 1 FROM meta WHERE key = 'default_assistant'").fetchone():
                return
            cur = conn.execute(
                "INSERT INTO assistants (name, model, instruction, temperature, max_tokens,"
                " prompt_token_budget, created_at) VALUES (:name, :model, :instruction, :temperature,"
                " :max_tokens, :prompt_token_budget, :now)",
                {**DEFAULT_ASSISTANT, "now": time.time()},
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('default_assistant', ?)", (str(cur.lastrowid),)
            )

    def list_assistants(self) -> list[Assistant]:
        return [records.assistant(r) for r in self._db.read("SELECT * FROM assistants ORDER BY id")]

    def get_assistant(self, assistant_id: int) -> Assistant | None:
        rows = self._db.read("SELECT * FROM assistants WHERE id = ?", (assistant_id,))
        return records.assistant(rows[0]) if rows else None

    def default_assistant(self) -> Assistant:
        rows = self._db.read("SELECT value FROM meta WHERE key = 'default_assistant'")
        found = self.get_assistant(int(rows[0][0])) if rows else None
        if found is None:
            assistants = self.list_assistants()
            if not assistants:
                raise StoreError(f"no assistant in {self.path}")
            found = assistants[0]
        return found

    def set_default_assistant(self, assistant_id: int) -> None:
        if self.get_assistant(assistant_id) is None:
            raise StoreError(f"assistant {assistant_id} does not exist")
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('default_assistant', ?)",
                (str(assistant_id),),
            )

    def create_assistant(
        self,
        name: str,
        model: str,
        instruction: str = "",
        temperature: float | None = None,
        max_tokens: int | None = None,
        keep_last_messages: int | None = None,
        prompt_token_budget: int | None = None,
        transport: str | None = None,
        reasoning_mode: str | None = None,
        tools: Sequence[str] | None = None,
        web_search: WebSearch | None = None,
        remote_mcp: Sequence[RemoteMcp] = (),
    ) -> Assistant:
        with self._db.write() as conn:
            cur = conn.execute(
                "INSERT INTO assistants (name, model, instruction, temperature, max_tokens,"
                " keep_last_messages, prompt_token_budget, transport, reasoning_mode, tools, web_search,"
                " remote_mcp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    model,
                    instruction,
                    temperature,
                    max_tokens,
                    keep_last_messages,
                    prompt_token_budget,
                    transport,
                    reasoning_mode,
                    json.dumps(list(tools)) if tools is not None else None,
                    records.web_search_json(web_search),
                    records.remote_mcp_json(tuple(remote_mcp)),
                    time.time(),
                ),
            )
        return must(self.get_assistant(int(cur.lastrowid or 0)))

    def update_assistant(self, assistant_id: int, **fields: Any) -> Assistant:
        unknown = set(fields) - set(_ASSISTANT_FIELDS)
        if unknown:
            raise ValueError(f"unknown assistant fields: {', '.join(sorted(unknown))}")
        if "tools" in fields:
            tools = fields["tools"]
            fields["tools"] = json.dumps(list(tools)) if tools is not None else None
        if "web_search" in fields:
            fields["web_search"] = records.web_search_json(fields["web_search"])
        if "remote_mcp" in fields:
            fields["remote_mcp"] = records.remote_mcp_json(fields["remote_mcp"] or ())
        if fields:
            sets = ", ".join(f"{k} = :{k}" for k in fields)
            with self._db.write() as conn:
                conn.execute(f"UPDATE assistants SET {sets} WHERE id = :id", {**fields, "id": assistant_id})
        return must(self.get_assistant(assistant_id))
