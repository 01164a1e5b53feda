"""Turn whatever goes wrong into one sentence a user can act on."""

from __future__ import annotations

import grpc


class UserFacingError(Exception):
    """An error whose message is a complete sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerGone(Exception):
    """Retrying is pointless: the (local) server is not there any more."""


class StreamIdleTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def explain(exc: BaseException, *, backend_kind: str = "cloud") -> str:
    """One clear sentence, with what to do, for an exception raised by a run."""
    if isinstance(exc, UserFacingError):
        return exc.message
    if isinstance(exc, ServerGone):
        if backend_kind == "local":
            return "The local model server stopped; press Retry to restart it."
        return "The server cannot be reached any more; check your network and press Retry."
    if isinstance(exc, StreamIdleTimeout):
        return (
            f"The model sent nothing for {exc.seconds:g} s, so the answer was stopped; "
            "press Retry, or raise stream_idle_timeout_s in the config file."
        )
    if isinstance(exc, grpc.aio.AioRpcError | grpc.RpcError):
        return _explain_rpc(exc, backend_kind)
    if isinstance(exc, TimeoutError):
        return "The request timed out; check your network and press Retry."
    text = str(exc)
    if "no explicit authorization data" in text or "authorization data" in text.lower():
        return (
            "No Yandex Cloud credentials were found: set YC_API_KEY (or YC_IAM_TOKEN), "
            "or run with --backend local to chat with the offline model."
        )
    if "folder" in text.lower() and "id" in text.lower():
        return "No Yandex Cloud folder is set: set YC_FOLDER_ID or folder_id in the config file."
    if isinstance(exc, OSError):
        return f"A system error stopped the answer ({exc.strerror or exc}); press Retry."
    return f"The answer failed: {_first_line(text) or type(exc).__name__}; press Retry."


def _explain_rpc(exc: grpc.RpcError, backend_kind: str) -> str:
    code = exc.code() if hasattr(exc, "code") else None
    details = _first_line(exc.details() or "") if hasattr(exc, "details") else ""
    local = backend_kind == "local"
    match code:
        case grpc.StatusCode.UNAUTHENTICATED:
            if local:
                return "The local server refused yachat's token; restart yachat to reconnect."
            return (
                "Yandex Cloud rejected the credentials: check YC_API_KEY / YC_IAM_TOKEN "
                "(an IAM token lives 12 hours)."
            )
        case grpc.StatusCode.PERMISSION_DENIED:
            return (
                "Access denied: the key's service account needs the ai.languageModels.user "
                f"role in this folder ({details})."
            )
        case grpc.StatusCode.NOT_FOUND:
            what = details or "the model or folder does not exist"
            return f"Not found: {what}; check the model name and the folder id."
        case grpc.StatusCode.INVALID_ARGUMENT:
            return f"The request was refused: {details or 'invalid argument'}."
        case grpc.StatusCode.RESOURCE_EXHAUSTED:
            return (
                "Quota exceeded even after retries: wait a minute and press Retry, "
                "or raise the folder's quota."
            )
        case grpc.StatusCode.UNAVAILABLE:
            if local:
                return "The local model server stopped or cannot be reached; press Retry to restart it."
            return "Yandex Cloud cannot be reached: check your network and press Retry."
        case grpc.StatusCode.DEADLINE_EXCEEDED:
            return "The request timed out; press Retry."
        case grpc.StatusCode.CANCELLED:
            return "The request was cancelled."
        case _:
            name = code.name if code is not None else "error"
            return f"The server failed ({name}: {details or 'no details'}); press Retry."


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""
