"""What the server remembers between requests: stored responses (with a time to live) and conversations.

A stored response keeps its public object, its own input items, and the whole
context it was answered in (the chain before it, its input, its output), so a
request naming it as `previous_response_id` continues from there even after an
earlier link expired. Responses live `ttl_s` seconds from creation (Yandex keeps
them 30 days); an expired one is as unknown as one never made. Conversations are
append-only item lists with no documented expiry. Request threads share all of it
under one lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL_S = 30 * 86400


@dataclass
class StoredResponse:
    id: str
    folder: str
    created: float
    body: dict[str, Any]  # the public response object, updated while a background run goes on
    input_items: list[dict[str, Any]]  # this request's input, each with an id
    context: list[dict[str, Any]] = field(default_factory=list)  # the chain, input and output
    background: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


@dataclass
class Conversation:
    id: str
    folder: str
    created_at: int
    metadata: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
            "valid": True,
        }


class State:
    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._responses: dict[str, StoredResponse] = {}
        self._conversations: dict[str, Conversation] = {}

    def now(self) -> float:
        return self._clock()

    # -- responses -----------------------------------------------------------

    def put(self, stored: StoredResponse) -> None:
        with self._lock:
            self._forget_expired()
            self._responses[stored.id] = stored

    def response(self, response_id: str, folder: str | None) -> StoredResponse | None:
        """The stored response, or None when unknown, expired or another folder's
        (`folder` None: a request that named no folder, any)."""
        with self._lock:
            self._forget_expired()
            stored = self._responses.get(response_id)
        return stored if stored is not None and folder in (None, stored.folder) else None

    def delete(self, response_id: str, folder: str | None) -> bool:
        with self._lock:
            self._forget_expired()
            stored = self._responses.get(response_id)
            if stored is None or folder not in (None, stored.folder):
                return False
            del self._responses[response_id]
            return True

    def _forget_expired(self) -> None:
        deadline = self._clock() - self.ttl_s
        for key in [k for k, r in self._responses.items() if r.created <= deadline]:
            del self._responses[key]

    # -- conversations -------------------------------------------------------

    def add_conversation(self, conversation: Conversation) -> None:
        with self._lock:
            self._conversations[conversation.id] = conversation

    def conversation(self, conversation_id: str, folder: str | None) -> Conversation | None:
        with self._lock:
            found = self._conversations.get(conversation_id)
        return found if found is not None and folder in (None, found.folder) else None

    def conversation_items(self, conversation: Conversation) -> list[dict[str, Any]]:
        with self._lock:
            return list(conversation.items)

    def append_items(self, conversation: Conversation, items: list[dict[str, Any]]) -> None:
        with self._lock:
            conversation.items.extend(items)
