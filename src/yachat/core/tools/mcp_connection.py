"""One MCP server's connection, owned by one task from start to end.

Imported by McpHub.run() in a worker thread: the `mcp` package and its
pydantic models take a second or more to import, which must not freeze a
front end's event loop.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import threading
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import httpx2
import mcp_types as types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp import Client, StdioServerParameters
from yachat.core.tools.mcp_content import outcome_of
from yachat.core.tools.mcp_transport import WatchedTransport
from yachat.core.tools.spec import ToolOutcome, ToolSpec
from yachat.mcp_config import INHERITED_ENV, McpConfigError, McpServerConfig

if TYPE_CHECKING:
    from yachat.core.tools.mcp_hub import Call, ServerSlot

log = logging.getLogger("yachat.mcp")

LAUNCHER = Path(__file__).with_name("mcp_launch.py")
_LIST_PAGES_AT_MOST = 100


async def own(slot: ServerSlot, start_timeout_s: float, stopping: anyio.Event) -> None:
    """Connect, serve the slot's calls, disconnect: all in this one task."""
    await Connection(slot, start_timeout_s, stopping).own()


class Connection:
    def __init__(self, slot: ServerSlot, start_timeout_s: float, stopping: anyio.Event) -> None:
        self.slot = slot
        self.config = slot.config
        self.start_timeout_s = start_timeout_s
        self.stopping = stopping
        self.exited = False
        self._stderr: _StderrLog | None = None
        self._tools_changed = anyio.Event()

    async def own(self) -> None:
        try:
            await self._own()
        except Exception as exc:  # the one line a front end shows
            self.slot.tools = ()
            self.slot.set("failed", _one_line(await self._explain(exc)))
        finally:
            self.slot.close_channel()
            if self._stderr is not None:
                self._stderr.close()
            if self.slot.status not in ("failed", "stopped"):
                self.slot.tools = ()
                self.slot.set("stopped")

    async def _own(self) -> None:
        try:
            config = self.config.resolved(self.slot.environ)
        except McpConfigError as exc:
            self.slot.set("failed", str(exc).partition(": ")[2])
            return
        # The start deadline is a scope around the whole connection, not inside it: the
        # transport's task groups must close inside every scope they opened in.
        with anyio.CancelScope(deadline=anyio.current_time() + self.start_timeout_s) as deadline:
            self.slot.start_scope = deadline  # aclose() during the start cancels it
            async with AsyncExitStack() as stack:
                client = await self._connect(stack, config)
                self.slot.tools = await self._list_tools(client)
                deadline.deadline = math.inf
                self.slot.start_scope = None
                info = client.server_info
                self.slot.set("ready", f"{info.name} {info.version}".strip() if info else "")
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._accept, client, tg)
                    tg.start_soon(self._follow_tool_changes, client)
                    await self.slot.ending.wait()
                    tg.cancel_scope.cancel()
        if deadline.cancelled_caught and not self.slot.ending.is_set():
            raise TimeoutError
        if self.exited:
            self.slot.tools = ()
            self.slot.set("failed", _one_line(await self.exit_detail()))

    async def _connect(self, stack: AsyncExitStack, config: McpServerConfig) -> Client:
        transport: Any
        if config.command is not None:
            self._stderr = _StderrLog(config.name, secrets=list(config.env.values()))
            params = self._stdio_params(config)
            try:
                transport = stdio_client(params, errlog=self._stderr.writer)
                transport = WatchedTransport(transport, self._on_eof)
                return await stack.enter_async_context(self._client(transport))
            finally:
                # The child has its copy now (or there is none): EOF comes when it ends.
                self._stderr.close_writer()
        assert config.url is not None
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300))
        )
        transport = WatchedTransport(streamable_http_client(config.url, http_client=http), self._on_eof)
        return await stack.enter_async_context(self._client(transport))

    def _client(self, transport: Any) -> Client:
        return Client(
            transport,
            client_info=_client_info(),
            message_handler=self._on_message,
            logging_callback=self._on_log,
        )

    async def _on_message(self, message: Any) -> None:
        # Only noted here: a request from inside the session's read loop would block it.
        if isinstance(message, types.ToolListChangedNotification):
            self._tools_changed.set()
        elif isinstance(message, Exception):
            log.info("mcp server %s: transport: %s", self.config.name, _leaf(message))

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        logging.getLogger(f"yachat.mcp.{self.config.name}").info("%s: %s", params.level, params.data)

    async def _follow_tool_changes(self, client: Client) -> None:
        while True:
            await self._tools_changed.wait()
            self._tools_changed = anyio.Event()
            try:
                self.slot.tools = await self._list_tools(client)
            except Exception as exc:
                log.warning("mcp server %s: cannot list its changed tools: %s", self.config.name, _leaf(exc))
                continue
            log.info("mcp server %s: its tools changed", self.config.name)
            self.slot.changed()

    def _stdio_params(self, config: McpServerConfig) -> StdioServerParameters:
        assert config.command is not None
        environ = os.environ if self.slot.environ is None else self.slot.environ
        env = {k: environ[k] for k in INHERITED_ENV if k in environ} | dict(config.env)
        _check_command(config.command, env.get("PATH", ""), config.cwd)
        if sys.platform == "win32":
            return StdioServerParameters(
                command=config.command, args=list(config.args), env=env, cwd=config.cwd
            )
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
        async for call in self.slot.calls():
            if not call.cancelled:
                tg.start_soon(self._serve, client, call)
            else:
                call.done.set()

    async def _serve(self, client: Client, call: Call) -> None:
        try:
            with anyio.CancelScope() as scope:
                call.scope = scope
                if call.cancelled:
                    scope.cancel()
                try:
                    result = await client.call_tool(
                        call.tool, call.arguments, read_timeout_seconds=call.timeout_s
                    )
                    call.outcome = outcome_of(result)
                except MCPError as exc:
                    if exc.error.code == types.REQUEST_TIMEOUT:
                        call.timed_out = True
                    elif exc.error.code != types.CONNECTION_CLOSED:
                        call.outcome = ToolOutcome(
                            f"MCP server {self.config.name}: {_one_line(exc.error.message)}", is_error=True
                        )
                except Exception as exc:  # e.g. a result that is not what the protocol says
                    text = _one_line(f"{type(_leaf(exc)).__name__}: {_leaf(exc)}")
                    call.outcome = ToolOutcome(f"MCP server {self.config.name}: {text}", is_error=True)
        finally:
            call.done.set()

    def _on_eof(self) -> None:
        """The transport ended: a stdio server exited, or an HTTP session closed."""
        if not self.stopping.is_set() and not self.slot.ending.is_set():
            self.exited = True
            self.slot.ending.set()

    async def exit_detail(self, what: str = "exited") -> str:
        """`exited (its last line on stderr)`."""
        if self._stderr is not None:
            with anyio.move_on_after(0.5):  # the last lines may still be in the pipe
                while not self._stderr.ended.is_set():
                    await anyio.sleep(0.01)
            if self._stderr.last:
                return f"{what} ({self._stderr.last})"
        return what if self.config.command is not None else "closed the connection"

    async def _explain(self, exc: BaseException) -> str:
        exc = _leaf(exc)
        if isinstance(exc, TimeoutError):
            return f"did not start within {self.start_timeout_s:g} s"
        if isinstance(exc, McpConfigError | _CommandNotFound):
            return str(exc)
        if isinstance(exc, OSError):
            return f"cannot start {self.config.command}: {exc.strerror or exc}"
        if isinstance(exc, httpx2.HTTPError):
            verb = "lost the connection to" if self.slot.was_ready else "cannot connect to"
            return f"{verb} {self.config.url}: {exc or type(exc).__name__}"
        if isinstance(exc, MCPError) and exc.error.code == types.CONNECTION_CLOSED:
            return await self.exit_detail("exited while starting")
        if isinstance(exc, MCPError):
            if self.config.url is not None:
                verb = "lost the connection to" if self.slot.was_ready else "cannot connect to"
                return f"{verb} {self.config.url}: {exc.error.message}"
            return f"{'failed' if self.slot.was_ready else 'cannot start'}: {exc.error.message}"
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


def _one_line(text: str, limit: int = 300) -> str:
    first = " ".join(text.split("\n", 1)[0].split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


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
