"""An MCP tool result as the text the model reads."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from yachat.core.tools.spec import ToolOutcome


def outcome_of(result: types.CallToolResult) -> ToolOutcome:
    """Text blocks as they are; anything else as one short bracketed line;
    structured content as JSON when there is no text."""
    parts = [_block_text(block) for block in result.content]
    has_text = any(isinstance(b, types.TextContent | types.EmbeddedResource) for b in result.content)
    if not has_text and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    if result.is_error and not text:
        text = "the tool failed and said nothing more"
    return ToolOutcome(content=text, is_error=result.is_error)


def _block_text(block: Any) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent | types.AudioContent):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, {_size(len(block.data) * 3 // 4)}, not shown]"
    if isinstance(block, types.ResourceLink):
        return f"[resource link: {block.name} {block.uri}]"
    if isinstance(block, types.EmbeddedResource):
        res = block.resource
        if isinstance(res, types.TextResourceContents):
            return res.text
        size = _size(len(getattr(res, "blob", "")) * 3 // 4)
        return f"[resource: {res.uri}, {res.mime_type or 'binary'}, {size}, not shown]"
    return f"[{getattr(block, 'type', 'unknown')} content, not shown]"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} kB"
    return f"{n / 1024 / 1024:.1f} MB"
