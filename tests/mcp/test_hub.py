"""McpHub against the real test server (tests/mcp/server.py), over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from yachat.core.tools.mcp_hub import McpHub
from yachat.core.tools.spec import ToolSpec
from yachat.mcp_config import McpServerConfig, parse_server

from ..lifetimes import process_gone
from .conftest import SERVER, broken_config, events_of, stdio_config


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return anyio.run(body)


def tool(hub: McpHub, server: str, name: str) -> ToolSpec:
    return next(t for t in hub.tools() if t.server == server and t.name == name)


async def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


def state(hub: McpHub, name: str) -> Any:
    return next(s for s in hub.states() if s.name == name)


def test_stdio_server_starts_lists_tools_and_answers(events: Path) -> None:
    changes: list[list[str]] = []

    async def body() -> None:
        hub = McpHub([stdio_config(events=events)])
        hub.on_change = lambda: changes.append([s.state for s in hub.states()])
        async with hub:
            assert state(hub, "test").state == "starting"  # run() never waits for a server
            await hub.wait_started(30)
            s = state(hub, "test")
            assert (s.state, s.detail) == ("ready", "yachat-test 1.0")
            names = {t.name for t in hub.tools()}
            assert {"echo", "sleep", "fail", "big", "die"} <= names
            echo = tool(hub, "test", "echo")
            assert echo.description == "Answer with the text given."
            assert echo.parameters["properties"]["text"]["type"] == "string"
            assert echo.key == "test/echo"
            out = await hub.call(echo, {"text": "hello"}, 10)
            assert (out.content, out.is_error) == ("hello", False)
            failed = await hub.call(tool(hub, "test", "fail"), {}, 10)
            assert failed.is_error and "failed on purpose" in failed.content
            big = await hub.call(tool(hub, "test", "big"), {}, 10)
            assert len(big.content) == 1024 * 1024 and not big.is_error
            picture = await hub.call(tool(hub, "test", "picture"), {}, 10)
            assert picture.content == "[image: image/png, 72 B, not shown]\na red pixel"
            structured = await hub.call(tool(hub, "test", "structured"), {}, 10)
            assert structured.content == '{"one": 1, "two": 2}'
        assert state(hub, "test").state == "stopped"

    run(body)
    assert changes[0] == ["ready"] and changes[-1] == ["stopped"]


def test_http_server_answers(http_server: tuple[str, Path]) -> None:
    url, _ = http_server

    async def body() -> None:
        config = parse_server("web", {"url": url, "headers": {"X-Token": "${YACHAT_TEST_TOKEN:-t0}"}})
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            assert state(hub, "web").state == "ready", state(hub, "web").detail
            out = await hub.call(tool(hub, "web", "echo"), {"text": "over http"}, 10)
            assert out.content == "over http"

    run(body)


def test_allow_list_limits_the_tools_offered_and_called(events: Path) -> None:
    async def body() -> None:
        async with McpHub([stdio_config(tools=["echo", "pid"])]) as hub:
            await hub.wait_started(30)
            assert sorted(t.name for t in hub.tools()) == ["echo", "pid"]
            sneaky = ToolSpec("env", "", {}, "test")
            out = await hub.call(sneaky, {"name": "HOME"}, 10)
            assert out.is_error and "allow-list" in out.content

    run(body)


def test_timeout_raises_and_cancels_the_call_at_the_server(events: Path) -> None:
    async def body() -> None:
        async with McpHub([stdio_config(events=events)]) as hub:
            await hub.wait_started(30)
            with pytest.raises(TimeoutError, match=r"test/sleep did not answer within 0.5 s"):
                await hub.call(tool(hub, "test", "sleep"), {"seconds": 30}, 0.5)
            await wait_for(lambda: "sleep cancelled" in events_of(events))
            # The server is still there for the next call.
            assert (await hub.call(tool(hub, "test", "echo"), {"text": "x"}, 10)).content == "x"

    run(body)


def test_server_timeout_wins_over_the_callers(events: Path) -> None:
    async def body() -> None:
        async with McpHub([stdio_config(events=events, timeout_s=0.3)]) as hub:
            await hub.wait_started(30)
            with pytest.raises(TimeoutError, match=r"within 0\.3 s"):
                await hub.call(tool(hub, "test", "sleep"), {"seconds": 30}, 60)

    run(body)


def test_caller_cancel_cancels_the_call_at_the_server(events: Path) -> None:
    async def body() -> None:
        async with McpHub([stdio_config(events=events)]) as hub:
            await hub.wait_started(30)
            with anyio.move_on_after(10) as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(hub.call, tool(hub, "test", "sleep"), {"seconds": 30}, 60)
                    await wait_for(lambda: "sleep started" in events_of(events))
                    tg.cancel_scope.cancel()
            assert not scope.cancelled_caught
            await wait_for(lambda: "sleep cancelled" in events_of(events))
            assert "sleep finished" not in events_of(events)

    run(body)


def test_a_server_that_cannot_start_fails_alone(events: Path) -> None:
    async def body() -> None:
        async with McpHub([broken_config(), stdio_config()]) as hub:
            await hub.wait_started(30)
            broken = state(hub, "broken")
            assert broken.state == "failed"
            assert broken.detail == "command not found: yachat-no-such-mcp-server (not on PATH)"
            assert state(hub, "test").state == "ready"
            assert {t.server for t in hub.tools()} == {"test"}
            assert (await hub.call(tool(hub, "test", "echo"), {"text": "ok"}, 10)).content == "ok"
            out = await hub.call(ToolSpec("x", "", {}, "broken"), {}, 10)
            assert out.is_error and "not ready (failed: command not found" in out.content

    run(body)


def test_a_server_that_never_answers_fails_after_the_start_timeout(tmp_path: Path) -> None:
    silent = parse_server("silent", {"command": "sleep", "args": ["60"]})

    async def body() -> None:
        async with McpHub([silent], start_timeout_s=0.5) as hub:
            await hub.wait_started(30)
            assert (state(hub, "silent").state, state(hub, "silent").detail) == (
                "failed",
                "did not start within 0.5 s",
            )

    run(body)


def test_a_server_dying_mid_call_fails_the_call_and_says_so(events: Path) -> None:
    async def body() -> None:
        async with McpHub([stdio_config(events=events), stdio_config("other")]) as hub:
            await hub.wait_started(30)
            out = await hub.call(tool(hub, "test", "die"), {}, 10)
            assert out.is_error
            assert (
                out.content
                == "MCP server test failed during the call: exited (test server: dying on purpose)"
            )
            await wait_for(lambda: state(hub, "test").state == "failed")
            assert state(hub, "test").detail == "exited (test server: dying on purpose)"
            assert {t.server for t in hub.tools()} == {"other"}
            assert (await hub.call(tool(hub, "other", "echo"), {"text": "alive"}, 10)).content == "alive"

    run(body)


def test_an_http_server_dying_mid_call_fails_the_call_and_says_so() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )

    async def body() -> None:
        assert proc.stdout is not None
        url = f"http://127.0.0.1:{proc.stdout.readline().split()[1]}/mcp"
        async with McpHub([parse_server("web", {"url": url})]) as hub:
            await hub.wait_started(30)
            out = await hub.call(tool(hub, "web", "die"), {}, 10)
            assert out.is_error
            assert out.content.startswith(
                f"MCP server web failed during the call: lost the connection to {url}: "
            )
            assert "\n" not in out.content
            s = state(hub, "web")
            assert s.state == "failed" and s.detail.startswith(f"lost the connection to {url}")

    try:
        run(body)
        assert proc.wait(timeout=10) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_stdio_server_sees_only_path_home_lang_and_its_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YACHAT_TEST_SECRET", "s3cret-value")
    monkeypatch.setenv("YACHAT_TEST_SHARED", "shared-value")
    monkeypatch.setenv("LANG", "C.UTF-8")
    config = stdio_config(
        env={"GIVEN": "${YACHAT_TEST_SHARED}", "DEFAULTED": "${YACHAT_TEST_NONE:-fallback}"}
    )

    async def body() -> dict[str, str]:
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            env = tool(hub, "test", "env")
            names = [
                "YACHAT_TEST_SECRET",
                "GIVEN",
                "DEFAULTED",
                "LANG",
                "HOME",
                "PATH",
                "TERM",
                "SHELL",
                "USER",
            ]
            return {n: (await hub.call(env, {"name": n}, 10)).content for n in names}

    seen = run(body)
    assert seen["YACHAT_TEST_SECRET"] == "<unset>"
    assert seen["GIVEN"] == "shared-value" and seen["DEFAULTED"] == "fallback"
    assert (
        seen["LANG"] == "C.UTF-8"
        and seen["HOME"] == os.environ["HOME"]
        and seen["PATH"] == os.environ["PATH"]
    )
    # The SDK's own defaults beyond those do not get through either.
    assert seen["TERM"] == seen["SHELL"] == seen["USER"] == "<unset>"


def test_a_missing_variable_fails_that_server_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YACHAT_TEST_ABSENT", raising=False)
    config = stdio_config(env={"TOKEN": "${YACHAT_TEST_ABSENT}"})

    async def body() -> None:
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            s = state(hub, "test")
            assert (s.state, s.detail) == (
                "failed",
                "environment variable YACHAT_TEST_ABSENT is not set (used in env.TOKEN)",
            )

    run(body)


def test_server_stderr_goes_to_the_log_with_env_values_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="yachat.mcp")
    config = stdio_config("loud", env={"TOKEN": "tok-abcdef"})

    async def body() -> None:
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            await hub.call(tool(hub, "loud", "fail"), {"reason": "tok-abcdef"}, 10)

    run(body)
    lines = [r.getMessage() for r in caplog.records if r.name == "yachat.mcp.loud"]
    assert any(line.startswith("stderr: test server starting, pid ") for line in lines)
    assert any("failed ****" in line for line in lines)
    assert not any("tok-abcdef" in r.getMessage() for r in caplog.records)


def test_aclose_leaves_no_server_process_behind() -> None:
    async def body() -> list[int]:
        hub = McpHub([stdio_config("a"), stdio_config("b")])
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.run)
            await hub.wait_started(30)
            pids = [int((await hub.call(tool(hub, n, "pid"), {}, 10)).content) for n in ("a", "b")]
            assert not any(process_gone(p) for p in pids)
            await hub.aclose()
        assert [s.state for s in hub.states()] == ["stopped", "stopped"]
        return pids

    pids = run(body)
    assert all(process_gone(p) for p in pids)


@pytest.mark.slow
def test_aclose_kills_a_server_that_ignores_eof_and_sigterm() -> None:
    async def body() -> int:
        async with McpHub([stdio_config()]) as hub:
            await hub.wait_started(30)
            pid = int((await hub.call(tool(hub, "test", "pid"), {}, 10)).content)
            await hub.call(tool(hub, "test", "stubborn"), {}, 10)
        return pid

    assert process_gone(run(body))


def test_disabled_servers_do_not_start() -> None:
    config: McpServerConfig = stdio_config(enabled=False)

    async def body() -> None:
        async with McpHub([config]) as hub:
            await hub.wait_started(30)
            assert state(hub, "test").state == "disabled" and hub.tools() == []

    run(body)


def test_on_plain_asyncio_as_textual_runs_it(events: Path) -> None:
    """run() as a task of its own (a Textual worker), a call cancelled with Task.cancel(),
    aclose() from yet another task."""

    async def body() -> list[int]:
        hub = McpHub([stdio_config(events=events)])
        runner = asyncio.create_task(hub.run())
        await hub.wait_started(30)
        pid = int((await hub.call(tool(hub, "test", "pid"), {}, 10)).content)
        call = asyncio.create_task(hub.call(tool(hub, "test", "sleep"), {"seconds": 30}, 60))
        await wait_for(lambda: "sleep started" in events_of(events))
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await wait_for(lambda: "sleep cancelled" in events_of(events))
        await asyncio.create_task(hub.aclose())
        await asyncio.wait_for(runner, 10)
        return [pid]

    assert all(process_gone(p) for p in asyncio.run(body()))


def test_cancelling_the_run_task_ends_the_servers_too() -> None:
    async def body() -> int:
        hub = McpHub([stdio_config()])
        runner = asyncio.create_task(hub.run())
        await hub.wait_started(30)
        pid = int((await hub.call(tool(hub, "test", "pid"), {}, 10)).content)
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        assert state(hub, "test").state == "stopped"
        return pid

    assert process_gone(asyncio.run(body()))


def test_http_servers_that_cannot_be_reached_fail_with_one_line(http_server: tuple[str, Path]) -> None:
    url, _ = http_server
    wrong = url.replace("/mcp", "/nope")

    async def body() -> None:
        configs = [
            parse_server("refused", {"url": "http://127.0.0.1:9/mcp"}),
            parse_server("wrong", {"url": wrong}),
        ]
        async with McpHub(configs) as hub:
            await hub.wait_started(30)
            assert (state(hub, "refused").state, state(hub, "refused").detail) == (
                "failed",
                "cannot connect to http://127.0.0.1:9/mcp: All connection attempts failed",
            )
            assert (state(hub, "wrong").state, state(hub, "wrong").detail) == (
                "failed",
                f"cannot connect to {wrong}: Not Found",
            )

    run(body)


def test_aclose_while_a_server_is_still_starting_stops_it() -> None:
    silent = parse_server("silent", {"command": "sleep", "args": ["60"]})

    async def body() -> None:
        hub = McpHub([silent], start_timeout_s=60)
        async with anyio.create_task_group() as tg:
            tg.start_soon(hub.run)
            await wait_for(lambda: hub._servers["silent"].start_scope is not None)
            with anyio.fail_after(10):  # stdin closed, 2 s, SIGTERM: `sleep` reads no stdin
                await hub.aclose()
        assert state(hub, "silent").state == "stopped"

    run(body)
