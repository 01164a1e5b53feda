"""The `openai` client for Yandex's Responses API, built from the credentials yachat resolves.

Yandex documents the Responses API (and files, vector stores, conversations) through the
official `openai` package: `AsyncOpenAI(base_url=…, api_key=…, project=FOLDER)`. yachat
does not hand the client a fixed key: an IAM token expires (12 hours), and the SDK already
knows how to keep one fresh (OAuth exchange, the metadata service, the yc CLI). So every
request takes its `authorization` header, as the SDK words it (`Api-Key …` or
`Bearer …`), from the SDK's own auth at the moment it is sent.

On the local backend the base is the local server's HTTP API (it serves `/v1/responses`
beside the chat API); in the cloud it is `responses_endpoint`.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

import httpx2

from yachat.core.backend import Backend
from yachat.core.errors import UserFacingError
from yachat.settings import Settings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from yachat.core.session import ModelSession

# openai insists on a key; the real header is set per request by `SdkAuth`.
_PLACEHOLDER_KEY = "set-per-request-by-yachat"
# How long the SDK may take to get a token (an OAuth exchange, the metadata service).
_AUTH_TIMEOUT_S = 30.0


def responses_base_url(settings: Settings, backend: Backend) -> str:
    """Where `/responses` lives: the local server's HTTP API, or `responses_endpoint`."""
    if backend.kind != "local":
        return settings.responses_endpoint.rstrip("/")
    if not backend.http_url:
        raise UserFacingError(
            "The local server serves no HTTP API, so the responses transport cannot reach it; "
            "restart it, or pick the grpc transport."
        )
    base = backend.http_url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


class SdkAuth(httpx2.Auth):
    """Each request's `authorization`, `x-client-request-id` and `x-data-logging-enabled`,
    from the SDK's auth as it stands when the request goes out (a refreshed IAM token
    included). The SDK has no public call for its headers: `_get_common_headers` is the one
    its own HTTP paths (the chat API) use."""

    def __init__(self, sdk: Any, timeout_s: float = _AUTH_TIMEOUT_S) -> None:
        self._client = sdk._client
        self._timeout_s = timeout_s

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        raise RuntimeError("yachat's Responses client is async only")

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        for key, value in await self._client._get_common_headers(True, self._timeout_s):
            request.headers[key] = value
        yield request


def build_responses_client(sdk: Any, backend: Backend, settings: Settings) -> AsyncOpenAI:
    """An `AsyncOpenAI` on `backend`'s Responses API, authenticated through `sdk` per request."""
    import openai

    local = backend.kind == "local"
    return openai.AsyncOpenAI(
        base_url=responses_base_url(settings, backend),
        api_key=_PLACEHOLDER_KEY,
        project=backend.folder_id,  # sent as OpenAI-Project: the folder the request runs in
        default_headers={
            "x-data-logging-enabled": "true" if settings.enable_server_data_logging else "false",
        },
        timeout=openai.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
        # A local server that is down stays down: fail at once. The cloud's 429/5xx may heal.
        max_retries=0 if local else 2,
        http_client=openai.DefaultAsyncHttpxClient(auth=SdkAuth(sdk)),
    )


# One client per SDK object: the session makes a new SDK for each event loop, and an
# httpx client's connections belong to the loop that opened them too.
_clients: weakref.WeakKeyDictionary[Any, AsyncOpenAI] = weakref.WeakKeyDictionary()


async def responses_client(session: ModelSession) -> AsyncOpenAI:
    """The session's Responses client, on the backend it is connected to (connecting first)."""
    backend = await session.connect()
    sdk = session.sdk
    client = _clients.get(sdk)
    if client is None:
        client = _clients[sdk] = build_responses_client(sdk, backend, session.settings)
    return client


def endpoint_key(settings: Settings, backend: Backend) -> str:
    """Where a stored response lives: its API base and folder. A response id is only
    worth chaining on when the next request goes to the same place."""
    return f"{responses_base_url(settings, backend)}|{backend.folder_id}"
