"""OpenAI's list pages, as Yandex serves them: `limit`, `order`, `after`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from yachat.server.responses.errors import bad_request


def page(items: list[dict[str, Any]], query: str, default_order: str = "desc") -> dict[str, Any]:
    """`{object: "list", data, has_more, first_id, last_id}` of `items` (kept oldest first)."""
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        limit = int(params.get("limit", 20))
    except ValueError:
        raise bad_request(f"limit must be a number, got {params.get('limit')!r}", param="limit") from None
    if not 1 <= limit <= 100:
        raise bad_request(f"limit must be 1 to 100, got {limit}", param="limit")
    order = params.get("order", default_order)
    if order not in ("asc", "desc"):
        raise bad_request(f"order must be asc or desc, got {order!r}", param="order")
    ordered = items if order == "asc" else items[::-1]
    after = params.get("after")
    if after:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise bad_request(f"after: no item {after!r} in this list", param="after")
        ordered = ordered[ids.index(after) + 1 :]
    data = ordered[:limit]
    return {
        "object": "list",
        "data": data,
        "has_more": len(ordered) > limit,
        "first_id": data[0].get("id") if data else None,
        "last_id": data[-1].get("id") if data else None,
    }
