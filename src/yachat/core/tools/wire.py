"""The prompt's messages as the SDK takes them, for each transport."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yachat.core.transport import Transport


def sdk_messages(transport: Transport, messages: Sequence[dict[str, Any]]) -> list[Any]:
    if any("tool_calls" in m or "tool_results" in m for m in messages):
        raise NotImplementedError("tool messages on the wire")
    return list(messages)
