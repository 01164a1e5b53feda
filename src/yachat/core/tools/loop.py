"""One round of the tool loop: the model's calls approved (or not), run, answered.

The round's calls are decided in order, one question to the user at a time (an
"always" answer settles the calls of that tool still waiting), and the allowed
ones run at once, each within its time limit. Whatever happens to a call — a
denial, a timeout, a failing tool, an unknown name — the model gets a result it
can read, never an exception. Stopping the answer cancels every call still
running (MCP servers are told) and marks the rest.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from yachat.core.events import ApprovalRequest, Approver, Decision
from yachat.core.tools.output_cut import cut_output
from yachat.core.tools.spec import BUILTIN_SERVER, ToolOutcome, ToolProvider, ToolSpec
from yachat.store.models import ToolStatus

log = logging.getLogger(__name__)

DECLINED = "The user declined to run this tool call."
REPEATS_AT_MOST = 3  # identical calls in a row that stop the loop


@dataclass(frozen=True)
class ToolLimits:
    rounds_at_most: int = 8
    timeout_s: float = 60.0
    output_tokens_at_most: int = 4000


@dataclass
class ToolPolicy:
    """Who may say yes: the stored "always" answers first, then this run's flags, then
    the user (an approver), else no."""

    approver: Approver | None = None
    allow_all: bool = False  # `ask --allow-tools`
    allowed: frozenset[str] = frozenset()  # `ask --allow-tool NAME`: names or server/name keys
    remembered: dict[str, str] = field(default_factory=dict)  # tool key -> "allow" | "deny"
    remember: Callable[[str, str], Awaitable[None]] | None = None  # store an "always" answer
    no_approver_reason: str = "no one was there to approve it"

    def preset(self, tool: ToolSpec) -> Decision | None:
        remembered = self.remembered.get(tool.key)
        if remembered == "deny":
            return Decision.DENY_ALWAYS
        if remembered == "allow" or tool.server == BUILTIN_SERVER:
            return Decision.ALLOW_ALWAYS
        if self.allow_all or tool.name in self.allowed or tool.key in self.allowed:
            return Decision.ALLOW_ONCE
        return None


@dataclass
class Call:
    """A call of this round as the loop tracks it."""

    call_id: str
    name: str
    arguments: str  # JSON text as the model wrote it
    spec: ToolSpec | None
    status: ToolStatus = ToolStatus.AWAITING_APPROVAL
    outcome: ToolOutcome | None = None
    duration_s: float | None = None

    @property
    def server(self) -> str:
        return self.spec.server if self.spec is not None else ""


class CallReporter:
    """What the loop tells the run about each call (the run emits events and stores parts)."""

    def status(self, call: Call) -> None: ...

    def running(self, call: Call, started_at: float) -> None: ...

    def finished(self, call: Call) -> None: ...


class RepeatWatch:
    """Three identical calls in a row (the same tool, the same arguments) stop the loop:
    local models were seen calling one function forever (aichat#580)."""

    def __init__(self) -> None:
        self._last: tuple[str, str] | None = None
        self._times = 0

    def see(self, name: str, arguments: Any) -> bool:
        """Count this call; True when it is the third identical one in a row."""
        key = (name, json.dumps(arguments, sort_keys=True, ensure_ascii=False))
        self._times = self._times + 1 if key == self._last else 1
        self._last = key
        return self._times >= REPEATS_AT_MOST


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The arguments as an object, or why they are not one."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"The arguments are not valid JSON ({exc.msg} at character {exc.pos})."
    if not isinstance(value, dict):
        return None, "The arguments must be a JSON object."
    return value, None


class ToolRound:
    def __init__(
        self,
        *,
        provider: ToolProvider,
        tools: Sequence[ToolSpec],
        policy: ToolPolicy,
        limits: ToolLimits,
        reporter: CallReporter,
        count_tokens: Callable[[str], Awaitable[int]],
        thread_id: int,
        message_id: int,
        assistant_name: str = "",
    ) -> None:
        self.provider = provider
        self.by_name = {t.name: t for t in tools}
        self.policy = policy
        self.limits = limits
        self.reporter = reporter
        self.count_tokens = count_tokens
        self.thread_id = thread_id
        self.message_id = message_id
        self.assistant_name = assistant_name

    async def run(self, calls: list[Call], repeats: RepeatWatch) -> str | None:
        """Decide and run the calls; each ends with an outcome. Returns why the loop must
        stop after this round (a repeated call), or None."""
        stop: str | None = None
        allowed: list[tuple[Call, dict[str, Any]]] = []
        try:
            for call in calls:
                arguments, problem = parse_arguments(call.arguments)
                if call.spec is None:
                    self._end(call, ToolStatus.FAILED, f'There is no tool named "{call.name}".', error=True)
                    continue
                if arguments is None:
                    self._end(call, ToolStatus.FAILED, problem or "Bad arguments.", error=True)
                    continue
                if stop is None and repeats.see(call.name, arguments):
                    stop = (
                        f"Stopped: the model called {call.name} with the same arguments "
                        f"{REPEATS_AT_MOST} times in a row."
                    )
                if stop is not None:
                    self._end(call, ToolStatus.SKIPPED, f"Not run: {stop}", error=True)
                    continue
                decision = await self._decide(call)
                if decision.allows:
                    allowed.append((call, arguments))
                else:
                    self._end(call, ToolStatus.DENIED, DECLINED, error=True)
            async with anyio.create_task_group() as tg:
                for call, arguments in allowed:
                    tg.start_soon(self._run_one, call, arguments)
        except anyio.get_cancelled_exc_class():
            for call in calls:
                if call.outcome is None:
                    self._end(call, ToolStatus.CANCELLED, "The user stopped the answer.", error=True)
            raise
        return stop

    async def _decide(self, call: Call) -> Decision:
        assert call.spec is not None
        decision = self.policy.preset(call.spec)
        if decision is not None:
            return decision
        if self.policy.approver is None:
            return Decision.DENY_ONCE
        call.status = ToolStatus.AWAITING_APPROVAL
        self.reporter.status(call)
        decision = await self.policy.approver(
            ApprovalRequest(
                thread_id=self.thread_id,
                message_id=self.message_id,
                call_id=call.call_id,
                tool=call.spec,
                arguments=call.arguments,
                assistant_name=self.assistant_name,
            )
        )
        if decision.always:
            verdict = "allow" if decision.allows else "deny"
            # The calls of this tool still waiting in this round are settled by it too.
            self.policy.remembered[call.spec.key] = verdict
            if self.policy.remember is not None:
                await self.policy.remember(call.spec.key, verdict)
        return decision

    async def _run_one(self, call: Call, arguments: dict[str, Any]) -> None:
        assert call.spec is not None
        call.status = ToolStatus.RUNNING
        started = time.monotonic()
        self.reporter.running(call, started)
        status = ToolStatus.DONE
        try:
            outcome = await self.provider.call(call.spec, arguments, self.limits.timeout_s)
            if outcome.is_error:
                status = ToolStatus.FAILED
        except TimeoutError as exc:
            # The provider may keep a limit of its own (an MCP server's timeout_s): it says which.
            status = ToolStatus.TIMED_OUT
            said = str(exc)
            outcome = ToolOutcome(
                f"{said}; the call was cancelled."
                if said
                else f"The tool did not answer within {self.limits.timeout_s:g} s; the call was cancelled.",
                is_error=True,
            )
        except anyio.get_cancelled_exc_class():
            call.duration_s = time.monotonic() - started
            raise
        except Exception as exc:  # a server that died or answered nonsense: the model is told
            log.info("tool %s failed: %r", call.spec.key, exc)
            status = ToolStatus.FAILED
            outcome = ToolOutcome(f"The tool could not be run: {one_line_error(exc)}", is_error=True)
        call.duration_s = time.monotonic() - started
        content, left_out = await cut_output(
            outcome.content, self.limits.output_tokens_at_most, self.count_tokens
        )
        call.outcome = ToolOutcome(content, outcome.is_error, left_out)
        call.status = status
        self.reporter.finished(call)

    def _end(self, call: Call, status: ToolStatus, content: str, error: bool) -> None:
        call.status = status
        call.outcome = ToolOutcome(content, is_error=error)
        self.reporter.finished(call)


def one_line_error(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"
