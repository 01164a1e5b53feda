"""The connection to a backend: the SDK built for it, on the loop that uses it.

One per core. The backend (cloud or a local server yachat started) is resolved
once; the SDK is built again when a new event loop asks for it, because gRPC
channels belong to the loop that made them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio

from yachat.core.backend import Backend, StatusSink, resolve_backend
from yachat.core.model_catalog import ModelListing, listing
from yachat.core.sdk import build_sdk, load_sdk
from yachat.settings import Settings

log = logging.getLogger(__name__)


class ModelSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.backend: Backend | None = None
        self.sdk: Any = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._connect_lock: anyio.Lock | None = None
        # What a local server named by address serves, as its model list says (for showing).
        self.served_model: str | None = None

    async def connect(self, on_status: StatusSink | None = None) -> Backend:
        loop = asyncio.get_running_loop()
        if self._sdk_loop is not loop:
            # gRPC channels belong to the loop that made them: a new loop (a
            # CLI that runs several, a test) gets a new SDK on the same backend.
            self._sdk_loop, self.sdk, self._connect_lock = loop, None, anyio.Lock()
        assert self._connect_lock is not None
        async with self._connect_lock:
            if self.sdk is None:
                # Heavy imports (~0.3 s), off the loop: the backends' auth is part of them.
                await anyio.to_thread.run_sync(load_sdk)
            if self.backend is None:
                self.backend = await resolve_backend(self.settings, on_status)
            if self.sdk is None:
                backend = self.backend
                self.sdk = build_sdk(
                    folder_id=backend.folder_id,
                    auth=backend.auth,
                    endpoint=backend.endpoint,
                    verify=backend.verify,
                    enable_server_data_logging=self.settings.enable_server_data_logging,
                    still_there=backend.still_there if backend.kind == "local" else None,
                    connect_timeout_s=self.settings.connect_timeout_s,
                    http_url=backend.http_url,
                )
            return self.backend

    async def learn_served_model(self) -> None:
        """Learn the local server's model from its own model list, if its backend did not say."""
        backend = await self.connect()
        if backend.kind != "local" or backend.model_name or self.served_model:
            return
        try:
            models = await self.sdk.chat.completions.list(timeout=self.settings.request_timeout_s)
        except Exception as exc:  # an older server, or none on the chat port: the name stays unknown
            log.info("the local server did not list its model: %s", exc)
            return
        names = [listing(m.uri).name.split("/")[0] for m in models if m.uri.startswith("gpt://")]
        if names:
            self.served_model = names[0]

    async def disconnect(self) -> None:
        backend, self.backend, self.sdk, self.served_model = self.backend, None, None, None
        if backend is not None:
            await anyio.to_thread.run_sync(backend.stop)

    async def forget_dead_local_server(self) -> None:
        """After a local failure, reconnect on the next send if the server is gone."""
        backend = self.backend
        if backend is not None and backend.kind == "local" and not await backend.still_there():
            log.info("local server at %s is gone; will start another", backend.endpoint)
            await self.disconnect()

    async def list_models(self) -> list[ModelListing]:
        """The text models the backend offers: the folder's, from the chat API's model list
        (the local server lists its own model there)."""
        backend = await self.connect()
        models = await self.sdk.chat.completions.list(timeout=self.settings.request_timeout_s)
        local_context = backend.context_tokens if backend.kind == "local" else None
        return sorted((listing(m.uri, local_context) for m in models), key=lambda m: m.name)
