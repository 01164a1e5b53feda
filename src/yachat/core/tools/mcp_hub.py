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
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from yachat.core.tools.mcp_content import outcome_of
from yachat.core.tools.mcp_transport import WatchedTransport
from yachat.core.tools.spec import ServerState, ToolOutcome, ToolSpec
from yachat.mcp_config import INHERITED_ENV, McpConfigError, McpServerConfig

log = logging.getLogger("yachat.mcp")

LAUNCHER = Path(__file__).with_name("mcp_launch.py")
START_TIMEOUT_S = 30.0
_LIST_PAGES_AT_MOST = 100


@dataclass(eq=False)
class _Call:
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
        self._servers = {c.name: _Server(c, self, environ) for c in configs}
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
            async with anyio.create_task_group() as tg:
                for server in self._servers.values():
                    if server.config.enabled:
                        tg.start_soon(server.own, name=f"mcp server {server.config.name}")
        finally:
            self._finished.set()

    async def aclose(self) -> None:
        """End every server and wait until they are gone (stdio servers get their stdin
        closed, then SIGTERM, then SIGKILL: at most ~6 s for one that ignores all)."""
        self._stop.set()
        for server in self._servers.values():
            server.ending.set()
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
        call = _Call(tool.name, arguments, server.config.timeout_s or timeout_s)
        server.submit(call)
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
        if server.exited:
            detail = await server.exit_detail()
            return ToolOutcome(f"MCP server {tool.server} {detail} during the call", is_error=True)
        return ToolOutcome(f"MCP server {tool.server} stopped during the call", is_error=True)

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("mcp: on_change failed")


class _Server:
    """One server: its state, and the task that owns its connection."""

    def __init__(self, config: McpServerConfig, hub: McpHub, environ: Mapping[str, str] | None) -> None:
        self.config = config
        self.hub = hub
        self.environ = environ
        self.status = "starting" if config.enabled else "disabled"
        self.detail = ""
        self.tools: tuple[ToolSpec, ...] = ()
        self.ending = anyio.Event()  # aclose(), or the transport ended
        self.exited = False
        self._send, self._receive = anyio.create_memory_object_stream[_Call](math.inf)
        self._stderr: _StderrLog | None = None

    def state(self) -> ServerState:
        return ServerState(self.config.name, self.status, self.detail, self.tools)

    def why(self) -> str:
        return f"{self.status}: {self.detail}" if self.detail else self.status

    def submit(self, call: _Call) -> None:
        self._send.send_nowait(call)

    def _set(self, status: str, detail: str = "") -> None:
        self.status, self.detail = status, detail
        if status == "failed":
            log.warning("mcp server %s failed: %s", self.config.name, detail)
        else:
            log.info("mcp server %s: %s%s", self.config.name, status, f" ({detail})" if detail else "")
        self.hub._changed()

    async def own(self) -> None:
        try:
            await self._own()
        except Exception as exc:  # the one line a front end shows
            self.tools = ()
            self._set("failed", self._explain(exc))
        finally:
            self._send.close()
            self._receive.close()
            if self._stderr is not None:
                self._stderr.close()
        if self.status not in ("failed", "stopped"):
            self.tools = ()
            self._set("stopped")

    async def _own(self) -> None:
        try:
            config = self.config.resolved(self.environ)
        except McpConfigError as exc:
            self._set("failed", str(exc).partition(": ")[2])
            return
        # The start deadline is a scope around the whole connection, not inside it: the
        # transport's task groups must close inside every scope they opened in.
        with anyio.CancelScope(deadline=anyio.current_time() + self.hub.start_timeout_s) as deadline:
            async with AsyncExitStack() as stack:
                client = await self._connect(stack, config)
                self.tools = await self._list_tools(client)
                deadline.deadline = math.inf
                info = client.server_info
                self._set("ready", f"{info.name} {info.version}".strip() if info else "")
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._accept, client, tg)
                    await self.ending.wait()
                    tg.cancel_scope.cancel()
        if deadline.cancelled_caught:
            raise TimeoutError
        if self.exited:
            self.tools = ()
            self._set("failed", await self.exit_detail())

    async def _connect(self, stack: AsyncExitStack, config: McpServerConfig) -> Client:
        transport: Any
        if config.command is not None:
            self._stderr = _StderrLog(config.name, secrets=list(config.env.values()))
            params = self._stdio_params(config)
            try:
                transport = stdio_client(params, errlog=self._stderr.writer)
                transport = WatchedTransport(transport, self._on_eof)
                client = Client(transport, client_info=_client_info())
                return await stack.enter_async_context(client)
            finally:
                # The child has its copy now (or there is none): EOF comes when it ends.
                self._stderr.close_writer()
        assert config.url is not None
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300))
        )
        transport = WatchedTransport(streamable_http_client(config.url, http_client=http), self._on_eof)
        return await stack.enter_async_context(Client(transport, client_info=_client_info()))

    def _stdio_params(self, config: McpServerConfig) -> StdioServerParameters:
        assert config.command is not None
        environ = os.environ if self.environ is None else self.environ
        env = {k: environ[k] for k in INHERITED_ENV if k in environ} | dict(config.env)
        _check_command(config.command, env.get("PATH", ""), config.cwd)
        if sys.platform == "win32":
            return StdioServerParameters(command=config.command, args=list(config.args), env=env, cwd=config.cwd)
        env["YACHAT_MCP_KEEP"] = ",".join(env)
        env["YACHAT_MCP_PARENT"] = str(os.getpid())
        return StdioServerParameters(
            command=sys.executable,
            args=["-I", "-S", str(LAUNCHER), config.command, *config.args],
            env=env,
            cwd=config.cwd,
        )

    async def _list_tools(self, client: Client) -> tuple[ToolSpec, ...]:
        found: list[ToolSpec] = []
        cursor: str | None = None
        for _ in range(_LIST_PAGES_AT_MOST):
            page = await client.list_tools(cursor=cursor)
            found.extend(
                ToolSpec(t.name, t.description or "", dict(t.input_schema), self.config.name)
                for t in page.tools
                if self.config.allows(t.name)
            )
            cursor = page.next_cursor
            if not cursor:
                break
        missing = set(self.config.tools or ()) - {t.name for t in found}
        if missing:
            log.warning("mcp server %s offers no tool named %s", self.config.name, ", ".join(sorted(missing)))
        return tuple(found)

    async def _accept(self, client: Client, tg: anyio.abc.TaskGroup) -> None:
        async for call in self._receive:
            if not call.cancelled:
                tg.start_soon(self._serve, client, call)
            else:
                call.done.set()

    async def _serve(self, client: Client, call: _Call) -> None:
        try:
            with anyio.CancelScope() as scope:
                call.scope = scope
                if call.cancelled:
                    scope.cancel()
                try:
                    result = await client.call_tool(call.tool, call.arguments, read_timeout_seconds=call.timeout_s)
                    call.outcome = outcome_of(result)
                except MCPError as exc:
                    if exc.error.code == types.REQUEST_TIMEOUT:
                        call.timed_out = True
                    elif exc.error.code != types.CONNECTION_CLOSED:
                        call.outcome = ToolOutcome(f"MCP server {self.config.name}: {exc.error.message}", is_error=True)
                except Exception as exc:
                    call.outcome = ToolOutcome(f"MCP server {self.config.name}: {_leaf(exc)}", is_error=True)
        finally:
            call.done.set()

    def _on_eof(self) -> None:
        """The transport ended: a stdio server exited, or an HTTP session closed."""
        if not self.hub._stop.is_set() and not self.ending.is_set():
            self.exited = True
            self.ending.set()

    async def exit_detail(self) -> str:
        if self._stderr is not None:
            with anyio.move_on_after(0.5):  # the last lines may still be in the pipe
                while not self._stderr.ended.is_set():
                    await anyio.sleep(0.01)
            if self._stderr.last:
                return f"exited ({self._stderr.last})"
        return "exited" if self.config.command is not None else "closed the connection"

    def _explain(self, exc: BaseException) -> str:
        exc = _leaf(exc)
        if isinstance(exc, TimeoutError):
            return f"did not start within {self.hub.start_timeout_s:g} s"
        if isinstance(exc, McpConfigError | _CommandNotFound):
            return str(exc)
        if isinstance(exc, OSError):
            return f"cannot start {self.config.command}: {exc.strerror or exc}"
        if isinstance(exc, httpx2.HTTPError):
            return f"cannot connect to {self.config.url}: {exc or type(exc).__name__}"
        if isinstance(exc, MCPError) and exc.error.code == types.CONNECTION_CLOSED:
            last = self._stderr.last if self._stderr else ""
            return f"exited while starting ({last})" if last else "exited while starting"
        return f"{type(exc).__name__}: {exc}"


class _CommandNotFound(Exception):
    pass


def _check_command(command: str, path: str, cwd: str | None) -> None:
    """Say "command not found" in so many words, not as an exit status of the launcher."""
    if "/" in command:
        full = os.path.join(cwd or "", command)
        if not os.access(full, os.X_OK):
            raise _CommandNotFound(f"command not found: {command}")
    elif shutil.which(command, path=path) is None:
        raise _CommandNotFound(f"command not found: {command} (not on PATH)")


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _client_info() -> types.Implementation:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("yachat")
    except PackageNotFoundError:
        ours = "unknown"
    return types.Implementation(name="yachat", version=ours)


class _StderrLog:
    """A server's stderr, line by line into yachat's log (never the screen); the last line kept
    to say why it died. Values of the server's `env` are masked."""

    def __init__(self, name: str, secrets: list[str]) -> None:
        read_fd, write_fd = os.pipe()
        self.writer = os.fdopen(write_fd, "w")
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")
        self._log = logging.getLogger(f"yachat.mcp.{name}")
        self._secrets = [s for s in secrets if len(s) >= 4]
        self.last = ""
        self.ended = threading.Event()
        threading.Thread(target=self._pump, name=f"mcp-stderr-{name}", daemon=True).start()

    def _pump(self) -> None:
        try:
            for line in self._reader:
                line = line.rstrip()
                for secret in self._secrets:
                    line = line.replace(secret, "****")
                if line:
                    self.last = line[:300]
                    self._log.info("stderr: %s", line)
        except (OSError, ValueError):
            pass
        finally:
            self.ended.set()

    def close_writer(self) -> None:
        if not self.writer.closed:
            self.writer.close()

    def close(self) -> None:
        self.close_writer()
