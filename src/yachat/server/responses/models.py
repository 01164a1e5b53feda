"""Which model a request names, and in which folder.

Yandex's Responses API takes `gpt://<folder>/<model>[/<version>]`; the folder
must be the one the request is made in (the `OpenAI-Project` header). A bare
`<model>[/<version>]` is taken in the header's folder. The local server answers
every text model of AI Studio's list (and its own engine's name) with its engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from yachat.model_ref import ModelRefError, parse_model_ref
from yachat.server.responses.errors import ResponsesError, bad_request, forbidden

# AI Studio's text models (early 2026), and the older names still served.
YANDEX_MODELS = frozenset(
    {
        "yandexgpt",
        "yandexgpt-lite",
        "yandexgpt-5.1",
        "yandexgpt-5-pro",
        "yandexgpt-5-lite",
        "aliceai-llm",
        "deepseek-v32",
        "deepseek-v4-flash",
        "qwen3-235b-a22b-fp8",
        "qwen3.5-35b-a3b-fp8",
        "gpt-oss-120b",
        "gpt-oss-20b",
        "gemma-3-27b-it",
    }
)


@dataclass(frozen=True)
class ModelRef:
    folder: str
    name: str


def request_folder(project: str | None, model: str) -> str:
    """The folder a request is made in: its `OpenAI-Project`, else the model URI's."""
    if project and project.strip():
        return project.strip()
    try:
        folder = parse_model_ref(model).folder
    except ModelRefError:
        folder = None
    if folder:
        return folder
    if model.strip().startswith("gpt://"):
        return ""  # a malformed URI: resolve_model says what is wrong with it
    raise bad_request(
        "the folder is not known: send the OpenAI-Project header or a model URI gpt://<folder>/<model>",
        param="model",
    )


def resolve_model(model: object, folder: str, engine_model: str) -> ModelRef:
    """Check the model the request names; a wrong folder is 403, an unknown model 400."""
    if not isinstance(model, str) or not model.strip():
        raise bad_request("model is required: gpt://<folder>/<model>", param="model")
    uri = model.strip()
    try:
        ref = parse_model_ref(uri)
    except ModelRefError as exc:
        raise bad_request(f"invalid model_uri: {exc}", param="model") from None
    if ref.scheme != "gpt" or (uri.startswith("gpt://") and ref.folder is None):
        raise bad_request(f"invalid model_uri {uri!r}: expected gpt://<folder>/<model>", param="model")
    if ref.folder is not None and ref.folder != folder:
        raise forbidden(f"Access to model {uri} denied: the request is made in folder {folder!r}", "model")
    if ref.name not in YANDEX_MODELS and ref.name != engine_model:
        raise unknown_model(uri)
    return ModelRef(folder, ref.name)


def unknown_model(uri: str) -> ResponsesError:
    return bad_request(
        f"invalid model_uri: model {uri!r} is not found", param="model", code="model_not_found"
    )
