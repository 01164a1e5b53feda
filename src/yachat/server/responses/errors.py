"""Errors as Yandex's Responses API writes them: `{code, message, param, type}` with an HTTP status.

The body is the one DOC-del documents (not wrapped in `{"error": …}`); the `openai`
client reads either shape and raises by status (400 BadRequestError, 401
AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ResponsesError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "param": self.param, "type": self.type}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ResponsesError:
    return ResponsesError(HTTPStatus.BAD_REQUEST, message, param=param, code=code)


def not_found(message: str, param: str | None = None) -> ResponsesError:
    return ResponsesError(
        HTTPStatus.NOT_FOUND, message, type="not_found_error", code="not_found", param=param
    )


def unauthorized(message: str) -> ResponsesError:
    return ResponsesError(HTTPStatus.UNAUTHORIZED, message, type="unauthorized", code="unauthenticated")


def forbidden(message: str, param: str | None = None) -> ResponsesError:
    return ResponsesError(
        HTTPStatus.FORBIDDEN, message, type="permission_denied", code="permission_denied", param=param
    )


def not_supported(what: str) -> ResponsesError:
    # DOC-conv marks these operations "[CURRENTLY NOT SUPPORTED]".
    return bad_request(f"{what} is currently not supported", code="not_supported")
