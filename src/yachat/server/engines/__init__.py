"""Engines behind the local server: a real on-device model and deterministic ones."""

from __future__ import annotations

from typing import Any

from yachat.local_model import local_model_missing, needs_local_extra
from yachat.server.engines.base import Engine

ENGINES = ("smollm2", "scripted", "firehose")


def make_engine(name: str, **options: Any) -> Engine:
    if name == "smollm2":
        if needs_local_extra(name):
            raise RuntimeError(local_model_missing(auto=False))
        from yachat.server.engines.llama import LlamaEngine

        return LlamaEngine(
            options.get("model_path"),
            context=options.get("context"),
            threads=options.get("threads"),
            max_answer_tokens=options.get("max_answer_tokens"),
        )
    if name == "scripted":
        from yachat.server.engines.scripted import ScriptedEngine

        return ScriptedEngine(options.get("script_path"), context=options.get("context"))
    if name == "firehose":
        from yachat.server.engines.firehose import FirehoseEngine

        return FirehoseEngine(
            chunks=options.get("chunks"), rate=options.get("rate"), context=options.get("context")
        )
    raise ValueError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
