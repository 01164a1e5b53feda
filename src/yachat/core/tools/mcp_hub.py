"""The MCP servers of one yachat process, as one ToolProvider.

Each server is owned by one long-lived task that enters its transport and
session and leaves them again: the `mcp` package's task groups must be exited
in the task that entered them (python-sdk#79/#922), so calls reach that task
over a channel and run in its task group. Servers start concurrently and
never hold up the caller; one that fails or dies is one line in its state,
and the others go on.

    hub = McpHub(settings.mcp_servers, on_change=...)
    task = asyncio.create_task(hub.run())   # or a Textual worker; or `async with hub:`
    ...
    await hub.aclose()                      # ends every server (stdio: terminated, then killed)
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from yachat.core.tools.spec import ServerState, ToolOutcome, ToolSpec
from yachat.mcp_config import McpServerConfig

log = logging.getLogger("yachat.mcp")

START_TIMEOUT_S = 30.0


@dataclass(eq=False)
class Call:
    """One tool call on its way to a server's owner task and back."""

    tool: str
    arguments: dict[str, Any]
    timeout_s: float
    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: ToolOutcome | None = None
    timed_out: bool = False
    cancelled: bool = False
    scope: anyio.CancelScope | None = None

    def cancel(self) -> None:
        self.cancelled = True
        if self.scope is not None:
            self.scope.cancel()


class McpHub:
    """Every configured MCP server; implements ToolProvider."""

    def __init__(
        self,
        servers: Mapping[str, McpServerConfig] | Iterable[McpServerConfig],
        *,
        on_change: Callable[[], None] | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        configs = servers.values() if isinstance(servers, Mapping) else servers
        self._servers = {c.name: ServerSlot(c, self._changed, environ) for c in configs}
        self.on_change = on_change
        self.start_timeout_s = start_timeout_s
        self._stop = anyio.Event()
        self._finished = anyio.Event()
        self._started = False

    # -- what the front ends and the tool loop read

    def states(self) -> list[ServerState]:
        return [s.state() for s in self._servers.values()]

    def tools(self) -> list[ToolSpec]:
        return [t for s in self._servers.values() if s.status == "ready" for t in s.tools]

    def config(self, name: str) -> McpServerConfig | None:
        server = self._servers.get(name)
        return server.config if server else None

    # -- lifetime

    async def run(self) -> None:
        """Start every enabled server at once and keep them until aclose() (or until cancelled)."""
        if self._started:
            raise RuntimeError("McpHub.run() may run once")
        self._started = True
        try:
            if not any(s.config.enabled for s in self._servers.values()):
                return
            # The `mcp` package takes a second or more to import: not on the caller's loop.
            connection = await anyio.to_thread.run_sync(_import_connection)
            async with anyio.create_task_group() as tg:
                for slot in self._servers.values():
                    if slot.config.enabled and not self._stop.is_set():
                        tg.start_soon(
                            connection.own,
                            slot,
                            self.start_timeout_s,
                            self._stop,
                            name=f"mcp {slot.config.name}",
                        )
        finally:
            for slot in self._servers.values():
                if slot.status == "starting":
                    slot.set("stopped")
            self._finished.set()

    async def aclose(self) -> None:
        """End every server and wait until they are gone (stdio servers get their stdin
        closed, then SIGTERM, then SIGKILL: at most ~6 s for one that ignores all)."""
        self._stop.set()
        for server in self._servers.values():
            server.stop()
        if self._started:
            with anyio.CancelScope(shield=True):
                await self._finished.wait()

    async def __aenter__(self) -> McpHub:
        self._owner_tg = anyio.create_task_group()
        await self._owner_tg.__aenter__()
        self._owner_tg.start_soon(self.run)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        await self._owner_tg.__aexit__(None, None, None)

    async def wait_started(self, timeout_s: float | None = None) -> None:
        """Until no server is starting any more (each is ready, failed or stopped)."""
        with anyio.move_on_after(math.inf if timeout_s is None else timeout_s):
            while any(s.status == "starting" for s in self._servers.values()):
                await anyio.sleep(0.02)

    # -- calls

    async def call(self, tool: ToolSpec, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        """Run one call. The server's own timeout_s, when it has one, wins over `timeout_s`."""
        server = self._servers.get(tool.server)
        if server is None:
            return ToolOutcome(f"no MCP server is named {tool.server!r}", is_error=True)
        if not server.config.allows(tool.name):
            return ToolOutcome(f"{tool.key} is not in the server's tools allow-list", is_error=True)
        if server.status != "ready":
            return ToolOutcome(f"MCP server {tool.server} is not ready ({server.why()})", is_error=True)
        call = Call(tool.name, arguments, server.config.timeout_s or timeout_s)
        try:
            server.submit(call)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return ToolOutcome(f"MCP server {tool.server} is not ready ({server.why()})", is_error=True)
        try:
            await call.done.wait()
        except anyio.get_cancelled_exc_class():
            # The owner's task sends the server a cancellation; wait (bounded) so it is out
            # before the caller moves on.
            call.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                await call.done.wait()
            raise
        if call.timed_out:
            raise TimeoutError(f"{tool.key} did not answer within {call.timeout_s:g} s")
        if call.outcome is not None:
            return call.outcome
        # The connection ended under the call: say why once the owner has found out.
        with anyio.move_on_after(5):
            await server.settled.wait()
        if server.status == "failed":
            return ToolOutcome(
                f"MCP server {tool.server} failed during the call: {server.detail}", is_error=True
            )
        return ToolOutcome(f"MCP server {tool.server} stopped during the call", is_error=True)

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("mcp: on_change failed")


class ServerSlot:
    """One server as the hub sees it: its state, and the channel its owner task reads calls from."""

    def __init__(
        self, config: McpServerConfig, changed: Callable[[], None], environ: Mapping[str, str] | None
    ) -> None:
        self.config = config
        self.changed = changed
        self.environ = environ
        self.status = "starting" if config.enabled else "disabled"
        self.detail = ""
        self.tools: tuple[ToolSpec, ...] = ()
        self.ending = anyio.Event()  # aclose(), or the transport ended
        self.was_ready = False
        self.settled = anyio.Event()  # failed or stopped: for good
        self.start_scope: anyio.CancelScope | None = None  # the owner's, while it starts
        self._send, self._receive = anyio.create_memory_object_stream[Call](math.inf)

    def state(self) -> ServerState:
        return ServerState(self.config.name, self.status, self.detail, self.tools)

    def why(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status

    def submit(self, call: Call) -> None:
        self._send.send_nowait(call)

    def calls(self) -> AsyncIterator[Call]:
        return self._receive

    def stop(self) -> None:
        self.ending.set()
        if self.start_scope is not None:
            self.start_scope.cancel()

    def close_channel(self) -> None:
        """No more calls; those still queued are answered (with no outcome: the server went)."""
        self._send.close()
        while True:
            try:
                self._receive.receive_nowait().done.set()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
        self._receive.close()

    def set(self, status: str, detail: str = "") -> None:
        self.status, self.detail = status, detail
        if status == "ready":
            self.was_ready = True
        elif status in ("failed", "stopped"):
            self.settled.set()
        if status == "failed":
            log.warning("mcp server %s failed: %s", self.config.name, detail)
        else:
            log.info("mcp server %s: %s%s", self.config.name, status, f" ({detail})" if detail else "")
        self.changed()


def _import_connection() -> Any:
    from yachat.core.tools import mcp_connection

    return mcp_connection
