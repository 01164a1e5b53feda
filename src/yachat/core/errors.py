"""Turn whatever goes wrong into one sentence a user can act on.

The sentences are front-end neutral: where trying again helps they say
"retry", and each front end says how with `phrase_retry` (the TUI has a Retry
button, the CLI a command line).
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

from yachat.model_ref import ModelRefError

if TYPE_CHECKING:
    import grpc


class UserFacingError(Exception):
    """An error whose message is a complete sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ServerGone(Exception):
    """Retrying is pointless: the (local) server is not there any more."""


class EndpointUnreachable(Exception):
    """No connection to the endpoint could be made; waiting will not change that soon."""

    def __init__(self, endpoint: str, cause: str) -> None:
        super().__init__(f"{endpoint}: {cause}")
        self.endpoint = endpoint
        self.cause = cause


class StreamIdleTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


# The hint as the core words it; older stores hold the TUI's "press Retry".
_RETRY_HINT = re.compile(r"(?<![\w-])(?:press Retry|retry)(?![\w-])")


def phrase_retry(message: str, how: str) -> str:
    """The message with its retry hint worded for a front end, e.g. how="press Retry (ctrl+r)"."""
    hints = list(_RETRY_HINT.finditer(message))
    if not hints:
        return message
    last = hints[-1]  # the core's own hint comes last; a server's words may precede it
    return message[: last.start()] + how + message[last.end() :]


def explain(exc: BaseException, *, backend_kind: str = "cloud") -> str:
    """One clear sentence, with what to do, for an exception raised by a run."""
    if isinstance(exc, UserFacingError):
        return exc.message
    if isinstance(exc, ModelRefError):
        return f"The assistant's model cannot be used: {exc}."
    if isinstance(exc, EndpointUnreachable):
        return _unreachable(exc.endpoint, exc.cause, backend_kind)
    if isinstance(exc, ServerGone):
        if backend_kind == "local":
            return "The local model server stopped; retry to restart it."
        return "The server cannot be reached any more; check your network and retry."
    if isinstance(exc, StreamIdleTimeout):
        return (
            f"The model sent nothing for {exc.seconds:g} s, so the answer was stopped; "
            "retry, or raise stream_idle_timeout_s in the config file."
        )
    if _is_rpc_error(exc):
        return _explain_rpc(exc, backend_kind)
    if isinstance(exc, TimeoutError):
        return "The request timed out; check your network and retry."
    text = str(exc)
    if "no explicit authorization data" in text or "authorization data" in text.lower():
        return (
            "No Yandex Cloud credentials were found: set YC_API_KEY (or YC_IAM_TOKEN), "
            "or run with --backend local to chat with the offline model."
        )
    if "folder" in text.lower() and "id" in text.lower():
        return "No Yandex Cloud folder is set: set YC_FOLDER_ID or folder_id in the config file."
    if isinstance(exc, OSError):
        return f"A system error stopped the answer ({exc.strerror or exc}); retry."
    return f"The answer failed: {_first_line(text) or type(exc).__name__}; retry."


def _unreachable(endpoint: str, cause: str, backend_kind: str) -> str:
    if backend_kind == "local":
        return f"The local model server at {endpoint} cannot be reached: {cause}; retry to restart it."
    return (
        f"Yandex Cloud at {endpoint} cannot be reached: {cause}; "
        "check the endpoint and your network, then retry."
    )


# What gRPC's own connection attempt says, as opposed to a status a server sent
# (a proxy's "upstream connection refused" is the server's word, and may heal).
_RESOLVE = re.compile(r"DNS resolution failed|errors? resolving|hostname lookup error", re.I)
_CONNECT = re.compile(
    r"failed to connect to all addresses|Failed to connect to remote host|(?:Tls|Ssl) handshake failed"
    r"|Handshake (?:read|write) failed",
    re.I,
)
_REFUSED = re.compile(r"Connection refused", re.I)
_TLS = re.compile(r"(?:Tls|Ssl) handshake failed|SSL_ERROR|CERTIFICATE_VERIFY_FAILED", re.I)
# "Endpoint closing" is gRPC giving up on its connect deadline mid-handshake.
_TIMEOUT = re.compile(r"Endpoint closing|Timeout occurred|timed out|Deadline Exceeded", re.I)
# "DNS query cancelled" is gRPC giving up on its query deadline.
_DNS_SILENT = re.compile(r"Timeout while contacting DNS servers|DNS query cancelled|timed out", re.I)
_CLOSED = re.compile(r"Socket closed|reset by peer|Broken pipe", re.I)
_PEER = re.compile(r"ipv[46]:(\S+?):\s")
_SSL_REASON = re.compile(r"OPENSSL_internal:([A-Z_]+)(?::\s*([^:]+))?")


def connection_failure(
    details: str, connect_timeout_s: float | None = None, endpoint: str = ""
) -> str | None:
    """The cause, in words, when an UNAVAILABLE status came from failing to connect; else None.

    A server that answered UNAVAILABLE (busy, restarting) may heal and is
    retried; a name that does not resolve, a refused connection, a TLS
    failure or a connect timeout will not heal within seconds.
    """
    within = f" within {connect_timeout_s:g} s" if connect_timeout_s else ""
    if _RESOLVE.search(details) and _DNS_SILENT.search(details):
        return f"no DNS server answered{within} to look up its name"
    if _RESOLVE.search(details):
        return "its name does not resolve (no network, or a mistyped host)"
    if not _CONNECT.search(details):
        return None
    peer = _PEER.search(details)
    # The address gRPC tried, when it is not the endpoint itself (a discovered service, a resolved IP).
    at = f" by {peer.group(1)}" if peer and peer.group(1) != endpoint else ""
    if _REFUSED.search(details):
        return f"the connection was refused{at}"
    if _TLS.search(details):
        return f"the TLS handshake failed ({_tls_reason(details)})"
    if _TIMEOUT.search(details):
        return f"no answer{within}"
    if _CLOSED.search(details):
        return f"the connection was closed{at} before it was set up"
    last = details.rpartition(": ")[2].strip() or "no connection"
    return f"no connection could be made ({last})"


def _tls_reason(details: str) -> str:
    found = _SSL_REASON.search(details)
    if found is None:
        return "no secure connection"
    code, words = found.group(1), (found.group(2) or "").strip()
    if code == "CERTIFICATE_VERIFY_FAILED":
        return f"the server's certificate is not trusted: {words}" if words else "untrusted certificate"
    if code in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"):
        return "the server does not speak TLS"
    return code.lower().replace("_", " ")


def _is_rpc_error(exc: BaseException) -> bool:
    # gRPC's import is ~50 ms of start-up; an error of its kind means it is loaded already.
    grpc = sys.modules.get("grpc")
    return grpc is not None and isinstance(exc, grpc.RpcError)


def _explain_rpc(exc: grpc.RpcError, backend_kind: str) -> str:
    import grpc

    code = exc.code() if hasattr(exc, "code") else None
    raw = exc.details() or "" if hasattr(exc, "details") else ""
    details = _first_line(raw)
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
            return "Quota exceeded even after retries: wait a minute and retry, or raise the folder's quota."
        case grpc.StatusCode.UNAVAILABLE:
            target = _target(raw)
            cause = connection_failure(raw, endpoint=target)
            if cause is not None:
                return _unreachable(target, cause, backend_kind)
            if local:
                return "The local model server stopped or cannot be reached; retry to restart it."
            return "Yandex Cloud cannot be reached: check your network and retry."
        case grpc.StatusCode.DEADLINE_EXCEEDED:
            return "The request timed out; retry."
        case grpc.StatusCode.CANCELLED:
            return "The request was cancelled."
        case _:
            name = code.name if code is not None else "error"
            return f"The server failed ({name}: {details or 'no details'}); retry."


def _target(details: str) -> str:
    """The address gRPC names in its message, for an error that reached us without an endpoint."""
    peer = _PEER.search(details)
    if peer:
        return peer.group(1)
    named = re.search(r"(?:resolving|failed for|lookup failed for) ([\w.\-\[\]:]+?:\d+)", details)
    return named.group(1) if named else "the endpoint"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""
