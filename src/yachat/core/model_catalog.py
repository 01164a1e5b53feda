"""What yachat knows about the cloud's models, keyed by model name.

Only the context size for now (from AI Studio's model table, see
YANDEX_API_NOTES.md "Limits and errors"); transport and reasoning join it
when the HTTP chat models are wired in. A model not in the table gets a
context small enough that no known model refuses the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

# For a model yachat does not know: every model in the table takes at least this much.
UNKNOWN_CONTEXT_TOKENS = 8192


@dataclass(frozen=True)
class ModelInfo:
    name: str  # as in a model URI, without folder or version: "yandexgpt", "gpt-oss-120b"
    context_tokens: int


KNOWN_MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo("yandexgpt", 32_768),  # yandexgpt/latest (Pro 5), yandexgpt/rc (Pro 5.1)
        ModelInfo("yandexgpt-lite", 32_768),
        ModelInfo("aliceai-llm", 32_768),
        ModelInfo("qwen3-235b-a22b-fp8", 262_144),
        ModelInfo("gpt-oss-120b", 131_072),
        ModelInfo("gpt-oss-20b", 131_072),
        ModelInfo("gemma-3-27b-it", 131_072),
    )
}


def model_name(model: str) -> str:
    """'yandexgpt/rc' -> 'yandexgpt'; 'gpt://folder/yandexgpt-lite/latest' -> 'yandexgpt-lite'."""
    model = model.strip()
    if "://" in model:
        path = model.split("://", 1)[1].split("/")
        return path[1] if len(path) > 1 else path[0]
    return model.partition("/")[0]


def model_info(model: str) -> ModelInfo | None:
    return KNOWN_MODELS.get(model_name(model).lower())


def context_tokens(model: str) -> int:
    info = model_info(model)
    return info.context_tokens if info is not None else UNKNOWN_CONTEXT_TOKENS
