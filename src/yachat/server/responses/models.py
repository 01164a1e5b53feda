"""Which model a request names, and in which folder.

Yandex's Responses API takes `gpt://<folder>/<model>[/<version>]`; the folder
must be the one the request is made in (the `OpenAI-Project` header). A bare
`<model>[/<version>]` is taken in the header's folder. The local server answers
every text model of AI Studio's list (and its own engine's name) with its engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]+(@[A-Za-z0-9._-]+)?$")


@dataclass(frozen=True)
class ModelRef:
    folder: str
    name: str


def request_folder(project: str | None, model: str) -> str:
    """The folder a request is made in: its `OpenAI-Project`, else the model URI's."""
    if project and project.strip():
        return project.strip()
    if model.startswith("gpt://"):
        return model.removeprefix("gpt://").split("/", 1)[0]
    raise bad_request(
        "the folder is not known: send the OpenAI-Project header or a model URI gpt://<folder>/<model>",
        param="model",
    )


def resolve_model(model: object, folder: str, engine_model: str) -> ModelRef:
    """Check the model the request names; a wrong folder is 403, an unknown model 400."""
    if not isinstance(model, str) or not model.strip():
        raise bad_request("model is required: gpt://<folder>/<model>", param="model")
    uri = model.strip()
    if uri.startswith("gpt://"):
        parts = uri.removeprefix("gpt://").split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise bad_request(f"invalid model_uri {uri!r}: expected gpt://<folder>/<model>", param="model")
        uri_folder, name, *version = parts
        if uri_folder != folder:
            raise forbidden(
                f"Access to model {uri} denied: the request is made in folder {folder!r}", "model"
            )
    else:
        name, *version = uri.split("/")
        if len(version) > 1:
            raise bad_request(f"invalid model_uri {uri!r}", param="model")
    if version and not _VERSION.match(version[0]):
        raise bad_request(f"invalid model_uri {uri!r}: bad version {version[0]!r}", param="model")
    if not _NAME.match(name) or (name not in YANDEX_MODELS and name != engine_model):
        raise unknown_model(uri)
    return ModelRef(folder, name)


def unknown_model(uri: str) -> ResponsesError:
    return bad_request(
        f"invalid model_uri: model {uri!r} is not found", param="model", code="model_not_found"
    )
