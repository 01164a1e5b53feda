"""Build the Yandex SDK the same way for both backends.

The SDK's retries are kept for what can heal (a server that answered
UNAVAILABLE or RESOURCE_EXHAUSTED, 5 attempts) and made visible: the policy
reports each backoff to whoever runs the call. A connection that cannot be
made at all (no such host, refused, TLS, no answer within CONNECT_TIMEOUT_S)
is not retried: it fails at once with its cause.
The SDK is imported only when a backend is first used, in a worker thread, so
the TUI paints its history without waiting for ~0.2 s of imports.
"""

from __future__ import annotations

import contextvars
import logging
import random
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import anyio

from yachat.core.errors import EndpointUnreachable, ServerGone, connection_failure

if TYPE_CHECKING:
    from yandex_cloud_ml_sdk import AsyncYCloudML

log = logging.getLogger(__name__)

# gRPC's own connect deadline is 20 s; a cloud endpoint that takes longer than
# this to accept a TLS connection is as good as down (settings.connect_timeout_s).
CONNECT_TIMEOUT_S = 5.0

# Set by a run for the duration of its SDK call: (seconds, attempt) -> None.
retry_reporter: contextvars.ContextVar[Callable[[float, int], None] | None] = contextvars.ContextVar(
    "yachat_retry_reporter", default=None
)


def load_sdk() -> Any:
    """Import the SDK (blocking; call it from a worker thread)."""
    with warnings.catch_warnings():
        # The wrapper package warns that it is deprecated on import; yachat uses
        # the maintained SDK underneath and the user has nothing to do about it.
        warnings.simplefilter("ignore")
        import yandex_cloud_ml_sdk

    return yandex_cloud_ml_sdk


@cache
def _reporting_policy() -> type:
    from yandex_ai_studio_sdk.retry import RetryPolicy

    @dataclass(frozen=True)
    class ReportingRetryPolicy(RetryPolicy):
        """The SDK's default policy, telling the current run before each backoff.

        `still_there`, when given, is asked before each retry; a server that is
        gone (a killed local server) fails at once instead of after ~10 s of backoff.
        A connection that could not be made at all is not retried either: it
        raises EndpointUnreachable, naming `endpoint` and the cause.
        """

        still_there: Callable[[], Awaitable[bool]] | None = None
        endpoint: str = ""
        connect_timeout_s: float = CONNECT_TIMEOUT_S

        async def sleep(self, attempt: int, deadline: float | None) -> None:
            # The SDK calls this while it handles the failed attempt, so the
            # exception being handled is that attempt's error.
            failed = sys.exception()
            if self.still_there is not None and not await self.still_there():
                raise ServerGone()
            import grpc  # loaded with the SDK

            details = failed.details() if isinstance(failed, grpc.aio.AioRpcError) else None
            cause = connection_failure(details, self.connect_timeout_s, self.endpoint) if details else None
            if cause is not None:
                raise EndpointUnreachable(self.endpoint, cause)
            backoff = self.initial_backoff * (self.backoff_multiplier**attempt) + random.uniform(
                0, self.jitter
            )
            if deadline is not None:
                backoff = min(backoff, deadline - time.time())
            backoff = max(0.0, min(backoff, self.max_backoff))
            report = retry_reporter.get()
            if report is not None:
                report(backoff, attempt)
            await anyio.sleep(backoff)

    return ReportingRetryPolicy


def build_sdk(
    *,
    folder_id: str,
    auth: Any,
    endpoint: str,
    verify: bool,
    enable_server_data_logging: bool,
    still_there: Callable[[], Awaitable[bool]] | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    http_url: str | None = None,
) -> AsyncYCloudML:
    sdk = load_sdk()
    # The chat API's address; by default the SDK derives Yandex's from `endpoint`.
    extra: dict[str, Any] = {"service_map": {"http_completions": http_url}} if http_url else {}
    client = sdk.AsyncYCloudML(
        **extra,
        folder_id=folder_id,
        auth=auth,
        endpoint=endpoint,
        verify=verify,
        retry_policy=_reporting_policy()(
            still_there=still_there, endpoint=endpoint, connect_timeout_s=connect_timeout_s
        ),
        enable_server_data_logging=enable_server_data_logging,
    )
    _bound_connect_time(client, connect_timeout_s)
    return client


def _bound_connect_time(client: Any, seconds: float) -> None:
    """Give every channel the SDK opens a deadline of `seconds` for each connection attempt.

    The SDK has no public way to pass channel options, so this wraps the one
    method it builds them with; if that ever changes, the SDK still works and
    only gRPC's 20 s default applies (logged).
    """
    inner: Any = getattr(client, "_client", None)
    options = getattr(inner, "_get_options", None)
    if options is None:
        log.warning("cannot set the connect timeout: the SDK's channel options moved")
        return
    ms = max(1, int(seconds * 1000))
    extra = (
        # gRPC calls it min_reconnect_backoff, but it is the deadline of each connection attempt.
        ("grpc.min_reconnect_backoff_ms", ms),
        # A DNS server that does not answer would otherwise hold the first request ~13 s.
        ("grpc.dns_ares_query_timeout", ms),
    )
    inner._get_options = lambda: (*options(), *extra)
