"""Choose where answers come from: Yandex Cloud or the local model server.

`auto` picks the cloud when a folder and credentials are found, the local
server otherwise, and says why. The rest of the core sees only an SDK.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from yachat.core.errors import UserFacingError
from yachat.local_model import local_model_missing, needs_local_extra
from yachat.server_info import ServerInfo, read_server_info, take_lease
from yachat.settings import Settings

StatusSink = Callable[[str], None]
LOCAL_FOLDER = "local"


@dataclass
class Backend:
    kind: str  # "cloud" | "local"
    endpoint: str
    folder_id: str
    description: str  # what the header shows, e.g. "local · smollm2 · 127.0.0.1:5000"
    reason: str  # why this backend was chosen, for `yachat doctor` and the first notice
    verify: bool
    auth: Any = field(repr=False)
    owned_server: Any = field(default=None, repr=False)  # a ServerProcess yachat started
    context_tokens: int | None = None
    model_name: str | None = None
    http_url: str | None = None  # the chat API's base URL; None: the SDK derives the cloud's
    # Whether the local server's model calls tools (None: unknown, e.g. the cloud: its models do).
    tool_calls: bool | None = None

    async def still_there(self) -> bool:
        """Whether the server still accepts connections (asked before a retry)."""
        host, _, port = self.endpoint.rpartition(":")
        return await answers(host, int(port))

    def stop(self) -> None:
        if self.owned_server is not None:
            self.owned_server.stop()
            self.owned_server = None
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    # A ServerLease on a server another yachat started: it stays up while this one uses it.
    lease: Any = field(default=None, repr=False)


def choose_backend_kind(settings: Settings) -> tuple[str, str]:
    """('cloud'|'local', reason) without touching the network."""
    if settings.backend in ("cloud", "local"):
        return settings.backend, f"backend = {settings.backend} ({_source(settings, 'backend')})"
    folder = settings.folder_id or yc_cli_folder()
    creds = settings.has_cloud_credentials or yc_cli_configured()
    if folder and creds:
        return "cloud", "a Yandex Cloud folder and credentials were found"
    missing = " and no ".join(
        what for what, ok in (("Yandex Cloud folder id", folder), ("credentials", creds)) if not ok
    )
    return "local", f"found no {missing}, so the offline local model is used"


async def resolve_backend(settings: Settings, on_status: StatusSink | None = None) -> Backend:
    kind, reason = choose_backend_kind(settings)
    if kind == "cloud":
        return _cloud_backend(settings, reason)
    return await _local_backend(settings, reason, on_status or (lambda _line: None))


def _cloud_backend(settings: Settings, reason: str) -> Backend:
    from yandex_ai_studio_sdk.auth import APIKeyAuth, IAMTokenAuth, OAuthTokenAuth

    folder = settings.folder_id or yc_cli_folder()
    if not folder:
        raise UserFacingError(
            f"No Yandex Cloud folder is set: export YC_FOLDER_ID or set folder_id in {settings.config_path}."
        )
    auth: Any
    if settings.api_key:
        auth = APIKeyAuth(settings.api_key)
    elif settings.iam_token:
        auth = IAMTokenAuth(settings.iam_token)
    elif settings.oauth_token:
        auth = OAuthTokenAuth(settings.oauth_token)
    else:
        auth = None  # the SDK tries the metadata service and the yc CLI itself
    return Backend(
        kind="cloud",
        endpoint=settings.endpoint,
        folder_id=folder,
        description=f"cloud · {settings.endpoint.removesuffix(':443')}",
        reason=reason,
        verify=True,
        auth=auth,
    )


async def _local_backend(settings: Settings, reason: str, on_status: StatusSink) -> Backend:
    from yandex_ai_studio_sdk.auth import APIKeyAuth

    def backend(address: str, token: str, engine: str, **server: Any) -> Backend:
        return Backend(
            kind="local",
            endpoint=address,
            folder_id=settings.folder_id or LOCAL_FOLDER,
            description=f"local · {engine} · {address}",
            reason=reason,
            verify=False,
            # Explicitly an API key: a generated token could look like an OAuth one.
            auth=APIKeyAuth(token),
            **server,
        )

    running = read_server_info()
    if settings.local_address:
        if not settings.local_token:
            raise UserFacingError(
                "local_address is set but no token: export YACHAT_LOCAL_TOKEN with the server's token."
            )
        # A server named by address tells its context through the runtime file, if it wrote one.
        known = running if running is not None and running.address == settings.local_address else None
        described = _described(known)
        if settings.local_http_url:
            described["http_url"] = settings.local_http_url
        return backend(settings.local_address, settings.local_token, "server", **described)

    reusable = running is not None and running.engine == settings.local_engine
    if running is not None and reusable:
        # Lease first, then look: a server whose owner has just gone either sees
        # the lease and stays, or has already withdrawn its runtime file.
        lease = take_lease(running)
        leased = running.leases == "" or lease is not None
        if leased and read_server_info() == running and await answers(running.host, running.port):
            on_status(f"using the local server on {running.address}")
            return backend(running.address, running.token, running.engine, lease=lease, **_described(running))
        if lease is not None:
            lease.release()

    if needs_local_extra(settings.local_engine):
        raise UserFacingError(local_model_missing(auto=settings.backend == "auto"))
    on_status(f"starting the local model server ({settings.local_engine})…")
    server = await anyio.to_thread.run_sync(_start_server, settings)
    on_status(f"local model server ready on {server.address}")
    return backend(
        server.address,
        server.token,
        settings.local_engine,
        owned_server=server,
        context_tokens=server.context or None,
        model_name=server.model or None,
        http_url=server.http_url or None,
        tool_calls=server.tool_calls,
    )


def _described(info: ServerInfo | None) -> dict[str, Any]:
    if info is None:
        return {}
    return {
        "context_tokens": info.context or None,
        "model_name": info.model or None,
        "http_url": info.http_url or None,
        "tool_calls": info.tool_calls,
    }


def _start_server(settings: Settings) -> Any:
    from yachat.server_process import start_server_process

    args: list[str] = []
    if settings.local_model_path:
        args += ["--model", settings.local_model_path]
    if settings.local_script:
        args += ["--script", settings.local_script]
    try:
        return start_server_process(settings.local_engine, args=args, runtime_file=True)
    except Exception as exc:  # the message carries the server's own last words
        raise UserFacingError(
            f"The local model server did not start: {str(exc).rstrip('.')}. "
            "Check --local-model, or run `yachat serve` to see its output."
        ) from exc


async def answers(host: str, port: int) -> bool:
    try:
        with anyio.fail_after(1.0):
            stream = await anyio.connect_tcp(host, port)
            await stream.aclose()
        return True
    except (OSError, TimeoutError):
        return False


def _source(settings: Settings, key: str) -> str:
    return settings.sources.get(key, "default")


def _yc_config() -> Path:
    return Path(os.environ.get("YC_CONFIG_PATH") or Path.home() / ".config/yandex-cloud/config.yaml")


def _yc_profile_values() -> dict[str, str]:
    """The active `yc` CLI profile's flat keys (token, folder-id, ...), if any."""
    try:
        lines = _yc_config().read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    current, profile, values = None, None, {}
    for line in lines:
        stripped = line.strip()
        if line.startswith("current:"):
            current = stripped.split(":", 1)[1].strip()
        elif line.startswith("  ") and not line.startswith("    ") and stripped.endswith(":"):
            profile = stripped[:-1]
        elif line.startswith("    ") and ":" in stripped and profile == current:
            key, _, value = stripped.partition(":")
            values[key.strip()] = value.strip()
    return values


def yc_cli_folder() -> str | None:
    return _yc_profile_values().get("folder-id") or None


def yc_cli_configured() -> bool:
    if not shutil.which("yc"):
        return False
    values = _yc_profile_values()
    return bool(values.get("token") or values.get("service-account-key"))
