"""`yachat models`: what the backend offers, with each model's transport, context and reasoning."""

from __future__ import annotations

from yachat.cli.session import run_with_core
from yachat.core.chat import ChatCore
from yachat.core.model_catalog import Reasoning
from yachat.settings import Settings

_REASONING = {
    Reasoning.NONE: "",
    Reasoning.HIDDEN: "hidden (enabled_hidden)",
    Reasoning.EFFORT: "shown (low/medium/high)",
}


def run_models(settings: Settings) -> int:
    async def body(core: ChatCore) -> int:
        models = await core.list_models()
        rows = [
            (
                m.name,
                str(m.transport),
                f"{m.context_tokens:,}" if m.context_tokens else "?",
                _REASONING[m.reasoning],
            )
            for m in models
        ]
        header = ("MODEL", "TRANSPORT", "CONTEXT", "REASONING")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        for row in [header, *rows]:
            line = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
            print(f"{line}  {row[3]}".rstrip())
        return 0

    return run_with_core(settings, body)
