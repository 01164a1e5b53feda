"""The store: yachat's SQLite file of assistants, threads, messages and runs."""

from yachat.store.errors import StoreError
from yachat.store.models import (
    Assistant,
    ExpirationPolicy,
    Message,
    MessageStatus,
    Run,
    RunStatus,
    SearchHit,
    Thread,
)
from yachat.store.store import Store, ThreadSnapshot

__all__ = [
    "Assistant",
    "ExpirationPolicy",
    "Message",
    "MessageStatus",
    "Run",
    "RunStatus",
    "SearchHit",
    "Store",
    "StoreError",
    "Thread",
    "ThreadSnapshot",
]
