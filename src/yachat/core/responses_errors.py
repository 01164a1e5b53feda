"""What goes wrong on the Responses API, in one line, in Yandex's own words where it gave some.

The `openai` client raises an `APIStatusError` per HTTP status, with the error body
(Yandex's `{code, message, param, type}`, bare or under `error`); a stream that fails
ends with `response.failed` (the response's `error`) or an `error` event. Each becomes a
UserFacingError the run shows as its error line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yachat.core.errors import UserFacingError


class ResponseFailed(UserFacingError):
    """The server ended a response with `failed` or an `error` event."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def server_words(body: Any, fallback: str = "") -> str:
    """The message of an error body, whichever shape it came in, on one line."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            body = inner
        message = body.get("message") or body.get("detail")
        if message:
            return _one_line(str(message))
    if isinstance(body, str) and body.strip():
        return _one_line(body)
    return _one_line(fallback)


def failed(error: Any, what: str = "The model failed") -> ResponseFailed:
    """A `response.failed`'s error (`{code, message}`) or an `error` event, as one line."""
    code = _field(error, "code")
    message = _field(error, "message") or "no details"
    said = _one_line(str(message)).rstrip(".")
    coded = f" ({code})" if code and str(code) not in said else ""
    return ResponseFailed(f"{what}: {said}{coded}; retry.", str(code) if code else None)


def explain_openai(exc: BaseException, *, backend_kind: str, base_url: str = "") -> UserFacingError | None:
    """The sentence for an `openai` exception, or None when it is not one."""
    import openai

    local = backend_kind == "local"
    if isinstance(exc, openai.APITimeoutError):
        return UserFacingError("The request timed out; retry.")
    if isinstance(exc, openai.APIConnectionError):
        cause = _one_line(str(exc.__cause__ or exc)) or "no connection"
        if local:
            return UserFacingError(
                f"The local model server at {base_url or 'its address'} cannot be reached ({cause}); "
                "retry to restart it."
            )
        return UserFacingError(
            f"The Responses API at {base_url or 'Yandex Cloud'} cannot be reached ({cause}); "
            "check responses_endpoint and your network, then retry."
        )
    if not isinstance(exc, openai.APIStatusError):
        return None
    said = server_words(exc.body, exc.message)
    status = exc.status_code
    if status == 401:
        if local:
            return UserFacingError(f"The local server refused yachat's token ({said}); restart yachat.")
        return UserFacingError(
            f"Yandex Cloud rejected the credentials ({said}): check YC_API_KEY / YC_IAM_TOKEN "
            "(an IAM token lives 12 hours)."
        )
    if status == 403:
        return UserFacingError(
            f"Access denied ({said}): the Responses API needs the ai.assistants.editor and "
            "ai.languageModels.user roles in this folder."
        )
    if status == 404:
        return UserFacingError(f"Not found: {said}; check the model name and the folder id.")
    if status == 429:
        return UserFacingError(f"Quota exceeded ({said}); wait a minute and retry.")
    if 400 <= status < 500:
        return UserFacingError(f"The request was refused: {said}.")
    return UserFacingError(f"The server failed ({status}: {said}); retry.")


def _field(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:299] + "…"
