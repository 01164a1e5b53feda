"""yachat's own tools, and the toolbox a run offers: the MCP servers' tools and these.

There is no built-in shell tool on purpose: a model that wants one gets it only
from an MCP server the user configured and approves call by call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio

from yachat.core.knowledge.prompting import numbered, passage_text
from yachat.core.tools.spec import BUILTIN_SERVER, ToolOutcome, ToolProvider, ToolSpec
from yachat.store import Store

KNOWLEDGE_SEARCH = ToolSpec(
    name="knowledge_search",
    description=(
        "Search the user's own files that this assistant answers from (notes, docs, code) "
        "and return the best matching passages, each with its file and lines."
    ),
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to look for, in words"}},
        "required": ["query"],
    },
    server=BUILTIN_SERVER,
)
PASSAGES_PER_SEARCH = 6


class KnowledgeSearch:
    """The assistant's knowledge, searched when the model asks (by words, as `kb` does)."""

    def __init__(self, store: Store, assistant_id: int) -> None:
        self.store = store
        self.assistant_id = assistant_id

    def tools(self) -> list[ToolSpec]:
        return [KNOWLEDGE_SEARCH] if self.store.has_knowledge(self.assistant_id) else []

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        query = str(arguments.get("query", "")).strip()
        if not query:
            return ToolOutcome("Give a query: the words to look for.", is_error=True)
        with anyio.fail_after(timeout_s):
            found = await anyio.to_thread.run_sync(
                self.store.retrieve, self.assistant_id, [query], PASSAGES_PER_SEARCH
            )
        if not found:
            return ToolOutcome(f"Nothing in the assistant's files matches {query!r}.")
        return ToolOutcome("\n\n".join(passage_text(p) for p in numbered(found)))


class Toolbox:
    """The tools one run offers: every provider's, narrowed to what the assistant may use."""

    def __init__(self, providers: Sequence[ToolProvider], allowed: Callable[[ToolSpec], bool]) -> None:
        self._providers = list(providers)
        self._allowed = allowed
        self._owner: dict[str, ToolProvider] = {}

    def tools(self) -> list[ToolSpec]:
        offered: list[ToolSpec] = []
        names: set[str] = set()
        for provider in self._providers:
            for tool in provider.tools():
                # The model calls a tool by its name alone: the first server to offer a name has it.
                if tool.name in names or not self._allowed(tool):
                    continue
                names.add(tool.name)
                self._owner[tool.key] = provider
                offered.append(tool)
        return offered

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        provider = self._owner.get(tool.key)
        if provider is None:
            return ToolOutcome(f'The tool "{tool.name}" is not available now.', is_error=True)
        return await provider.call(tool, arguments, timeout_s)


def assistant_allows(selection: tuple[str, ...] | None) -> Callable[[ToolSpec], bool]:
    """An assistant's tool selection as a test: None allows every tool; else a tool is
    allowed when its server or its `server/tool` key is listed."""
    if selection is None:
        return lambda tool: True
    chosen = frozenset(selection)
    return lambda tool: tool.server in chosen or tool.key in chosen
