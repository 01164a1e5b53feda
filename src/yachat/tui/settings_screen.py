"""Assistant settings: model, instruction, sampling, truncation; switch and
create assistants; the thread's TTL. Validated inline before anything is saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Button, Input, Label, OptionList, Select, SelectionList, TextArea

from yachat.core.model_catalog import REASONING_MODES, transport_for
from yachat.core.responses_settings import remote_mcp_from, remote_mcp_text, web_search_from
from yachat.core.tools.spec import ToolSpec
from yachat.core.transport import Transport
from yachat.store.models import Assistant, ExpirationPolicy, Thread
from yachat.tui.dialogs import AnsweredOnce, guard_paging
from yachat.tui.model_picker import ListModels, ModelPicker

TRANSPORTS = [
    ("auto (the model decides)", "auto"),
    ("gRPC completions", "grpc"),
    ("chat API (http)", "http"),
    ("Responses API", "responses"),
]
WEB_SEARCH = [("web search off", "off"), ("web search on", "on")]
WEB_CONTEXT = [("context: default", "default"), ("low", "low"), ("medium", "medium"), ("high", "high")]
REASONING = [
    ("off", "off"),
    ("low (chat API, Responses)", "low"),
    ("medium (chat API, Responses)", "medium"),
    ("high (chat API, Responses)", "high"),
    ("hidden (gRPC: only counted)", "enabled_hidden"),
]


def check_reasoning(model: str, transport: str | None, mode: str | None) -> str | None:
    """Why this reasoning mode does not suit the model's transport, or None."""
    if not mode:
        return None
    way = transport_for(model, transport)
    allowed = REASONING_MODES[way]
    if mode in allowed:
        return None
    via = {Transport.HTTP: "the chat API (http)", Transport.RESPONSES: "the Responses API"}.get(way, "gRPC")
    return f"{model} goes over {via}, which takes reasoning {' / '.join(allowed)} or off, not {mode}"


@dataclass(frozen=True)
class SettingsResult:
    assistant_id: int | None  # None: create a new assistant with `fields`
    fields: dict[str, Any]
    ttl_days: int | None
    policy: ExpirationPolicy
    make_default: bool


def _number(text: str, kind: type, name: str, low: float, high: float) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return value


class SettingsScreen(AnsweredOnce[SettingsResult | None]):
    # Textual focuses it when the screen shows (the screen may also be gone by the
    # time its mount is handled: a quick Esc after ctrl+s).
    AUTO_FOCUS = "#model"
    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > Vertical {
        width: 84; height: 90%; border: thick $primary; background: $surface; padding: 1 2;
    }
    SettingsScreen VerticalScroll { height: 1fr; }
    SettingsScreen #actions { height: auto; dock: bottom; }
    SettingsScreen Label { margin-top: 1; color: $text-muted; }
    SettingsScreen #title { margin: 0; color: $text; text-style: bold; }
    SettingsScreen Input, SettingsScreen Select { margin: 0; }
    SettingsScreen #tools { height: auto; max-height: 12; margin: 0; }
    SettingsScreen .hint { margin: 0; }
    SettingsScreen #instruction { height: 6; }
    SettingsScreen #error { color: $error; margin-top: 1; }
    SettingsScreen Horizontal { height: auto; margin-top: 1; }
    SettingsScreen Horizontal > Input, SettingsScreen Horizontal > Select { width: 1fr; }
    SettingsScreen Button { margin-right: 1; }
    SettingsScreen #model-row { margin-top: 0; }
    SettingsScreen #model-row > Input { width: 1fr; }
    SettingsScreen #model-row > Button { width: auto; margin: 0 0 0 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        assistants: list[Assistant],
        current: Assistant,
        thread: Thread | None,
        list_models: ListModels | None = None,
        tools: Sequence[ToolSpec] = (),
    ) -> None:
        super().__init__()
        self.assistants = assistants
        self.current = current
        self.thread = thread
        self.list_models = list_models  # for the model picker
        self.tools = list(tools)  # every tool the running servers offer, and yachat's own

    def compose(self) -> ComposeResult:
        a = self.current
        with Vertical():
            with Vertical(id="actions"):
                yield Label("", id="error")
                with Horizontal():
                    yield Button("Save", id="save", variant="primary")
                    yield Button("Save as default", id="default")
                    yield Button("Cancel", id="cancel")
                    yield Button("Knowledge…", id="knowledge")
            with VerticalScroll():
                yield Label("Assistant settings — Esc cancels", id="title")
                yield Label("Assistant")
                yield Select(
                    [(x.name, x.id) for x in self.assistants] + [("+ New assistant", -1)],
                    value=a.id,
                    allow_blank=False,
                    id="assistant",
                    compact=True,
                )
                yield Label("Name")
                yield Input(a.name, id="name", compact=True)
                yield Label("Model: yandexgpt/latest, yandexgpt/rc, yandexgpt-lite, … or a gpt:// URI")
                with Horizontal(id="model-row"):
                    yield Input(a.model, id="model", suggester=None, compact=True)
                    if self.list_models is not None:
                        yield Button("Pick…", id="pick", compact=True)
                yield Label("Instruction (system prompt)")
                yield TextArea(a.instruction, id="instruction", soft_wrap=True, compact=True)
                yield Label("Temperature · max tokens")
                with Horizontal():
                    yield Input(
                        _s(a.temperature), placeholder="temperature 0–1", id="temperature", compact=True
                    )
                    yield Input(_s(a.max_tokens), placeholder="max tokens", id="max_tokens", compact=True)
                yield Label("Transport · reasoning")
                with Horizontal():
                    transport = a.transport or "auto"
                    yield Select(TRANSPORTS, value=transport, allow_blank=False, id="transport", compact=True)
                    reasoning = a.reasoning_mode or "off"
                    yield Select(REASONING, value=reasoning, allow_blank=False, id="reasoning", compact=True)
                yield Label("Prompt truncation")
                with Horizontal():
                    yield Input(
                        _s(a.keep_last_messages),
                        placeholder="keep last N messages",
                        id="keep_last",
                        compact=True,
                    )
                    yield Input(
                        _s(a.prompt_token_budget),
                        placeholder="prompt token budget",
                        id="budget",
                        compact=True,
                    )
                yield Label(
                    "Tools it may call (a server's tools, or single ones; each call asks unless allowed)"
                )
                if self.tools:
                    yield SelectionList[str](*tool_choices(self.tools, a.tools), id="tools", compact=True)
                else:
                    yield Label(
                        "  none yet: add [mcp_servers.NAME] to config.toml, or `yachat mcp import`",
                        classes="hint",
                    )
                search = a.web_search
                yield Label("Web search (Responses API) · sites, at most 5 · region · context")
                with Horizontal():
                    on = "on" if search is not None and search.enabled else "off"
                    yield Select(
                        [("off", "off"), ("on", "on")],
                        value=on,
                        allow_blank=False,
                        id="web_search",
                        compact=True,
                    )
                    sites = ", ".join(search.domains) if search else ""
                    yield Input(sites, placeholder="any site", id="web_sites", compact=True)
                    region = search.region or "" if search else ""
                    yield Input(region, placeholder="region, e.g. 213", id="web_region", compact=True)
                    size = (search.context_size if search else None) or "default"
                    yield Select(WEB_CONTEXT, value=size, allow_blank=False, id="web_context", compact=True)
                yield Label(
                    "Remote MCP servers (Responses API), one a line: LABEL URL [always|never] [Header=value]"
                )
                yield TextArea(remote_mcp_text(a.remote_mcp), id="remote_mcp", soft_wrap=False, compact=True)
                if self.thread is not None:
                    yield Label("This thread expires")
                    with Horizontal():
                        yield Input(
                            _s(self.thread.ttl_days),
                            placeholder="after N days (empty: never)",
                            id="ttl",
                            compact=True,
                        )
                        yield Select(
                            [("after creation", ExpirationPolicy.STATIC),
                             ("after last activity", ExpirationPolicy.SINCE_LAST_ACTIVE)],
                            value=self.thread.expiration_policy,
                            allow_blank=False,
                            id="policy",
                            compact=True,
                        )  # fmt: skip

    def on_mount(self) -> None:
        for overlay in self.query("SelectOverlay").results(OptionList):
            guard_paging(overlay)

    @on(Select.Changed, "#assistant")
    def _switch(self, event: Select.Changed) -> None:
        chosen = next((a for a in self.assistants if a.id == event.value), None)
        if chosen is None:  # a new assistant starts from the current one's values
            self.query_one("#name", Input).value = f"{self.current.name} (copy)"
            return
        self.current = chosen
        self.query_one("#name", Input).value = chosen.name
        self.query_one("#model", Input).value = chosen.model
        self.query_one("#instruction", TextArea).text = chosen.instruction
        self.query_one("#transport", Select).value = chosen.transport or "auto"
        self.query_one("#reasoning", Select).value = chosen.reasoning_mode or "off"
        search = chosen.web_search
        self.query_one("#web_search", Select).value = "on" if search and search.enabled else "off"
        self.query_one("#web_sites", Input).value = ", ".join(search.domains) if search else ""
        self.query_one("#web_region", Input).value = (search.region if search else None) or ""
        self.query_one("#web_context", Select).value = (search.context_size if search else None) or "default"
        self.query_one("#remote_mcp", TextArea).text = remote_mcp_text(chosen.remote_mcp)
        for tools in self.query("#tools").results(SelectionList):
            tools.clear_options()
            tools.add_options(tool_choices(self.tools, chosen.tools))
        for wid, value in (
            ("temperature", chosen.temperature),
            ("max_tokens", chosen.max_tokens),
            ("keep_last", chosen.keep_last_messages),
            ("budget", chosen.prompt_token_budget),
        ):
            self.query_one(f"#{wid}", Input).value = _s(value)

    @on(Button.Pressed, "#pick")
    def _pick(self, event: Button.Pressed) -> None:
        event.stop()
        if self.list_models is None:
            return
        model = self.query_one("#model", Input)

        def picked(name: str | None) -> None:
            if name:
                model.value = name
                self.query_one("#transport", Select).value = "auto"  # the new model decides

        self.app.push_screen(ModelPicker(self.list_models, model.value.strip()), picked)

    @on(Select.Changed, "#transport, #reasoning")
    @on(Input.Changed, "#model")
    def _check_reasoning(self) -> None:
        """Say at once when the reasoning mode does not suit the model's transport."""
        try:
            model = self.query_one("#model", Input).value.strip()
            transport, mode = self._transport_and_reasoning()
        except NoMatches:  # composing: not every field is there yet
            return
        self.query_one("#error", Label).update(Text(check_reasoning(model, transport, mode) or ""))

    def _transport_and_reasoning(self) -> tuple[str | None, str | None]:
        transport = str(self.query_one("#transport", Select).value)
        mode = str(self.query_one("#reasoning", Select).value)
        return (None if transport == "auto" else transport), (None if mode == "off" else mode)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "pick":
            return
        if event.button.id == "knowledge":
            # The files the thread's assistant answers from, over these settings (F9 anywhere).
            self.run_worker(self.app.run_action("knowledge"), exit_on_error=False)
            return
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        try:
            result = self._collect(make_default=event.button.id == "default")
        except ValueError as exc:
            self.query_one("#error", Label).update(Text(str(exc)))
            return
        self.dismiss(result)

    def _collect(self, make_default: bool) -> SettingsResult:
        value = lambda wid: self.query_one(f"#{wid}", Input).value  # noqa: E731
        name = value("name").strip()
        model = value("model").strip()
        if not name:
            raise ValueError("the assistant needs a name")
        if not model or " " in model:
            raise ValueError("model must look like yandexgpt/rc, yandexgpt-lite or gpt://folder/name/version")
        transport, reasoning = self._transport_and_reasoning()
        problem = check_reasoning(model, transport, reasoning)
        if problem:
            raise ValueError(problem)
        fields = {
            "name": name,
            "model": model,
            "transport": transport,
            "reasoning_mode": reasoning,
            "instruction": self.query_one("#instruction", TextArea).text,
            "temperature": _number(value("temperature"), float, "temperature", 0, 1),
            "max_tokens": _number(value("max_tokens"), int, "max tokens", 1, 100_000),
            "keep_last_messages": _number(value("keep_last"), int, "keep last N messages", 1, 10_000),
            "prompt_token_budget": _number(value("budget"), int, "prompt token budget", 16, 1_000_000),
        }
        for tools in self.query("#tools").results(SelectionList):
            fields["tools"] = chosen_tools(self.tools, list(tools.selected))
        size = str(self.query_one("#web_context", Select).value)
        fields["web_search"] = web_search_from(
            str(self.query_one("#web_search", Select).value) == "on",
            value("web_sites"),
            value("web_region"),
            None if size == "default" else size,
        )
        fields["remote_mcp"] = remote_mcp_from(self.query_one("#remote_mcp", TextArea).text)
        ttl, policy = None, ExpirationPolicy.STATIC
        if self.thread is not None:
            ttl = _number(value("ttl"), int, "TTL days", 1, 3650)
            policy = ExpirationPolicy(str(self.query_one("#policy", Select).value))
        selected = self.query_one("#assistant", Select).value
        assistant_id = None if selected == -1 else int(selected)  # type: ignore[arg-type]
        return SettingsResult(assistant_id, fields, ttl, policy, make_default)


def tool_choices(tools: Sequence[ToolSpec], chosen: tuple[str, ...] | None) -> list[tuple[str, str, bool]]:
    """A line per server (all its tools, those it adds later too) and one per tool under it."""
    picked = set(chosen) if chosen is not None else None
    lines: list[tuple[str, str, bool]] = []
    for server in sorted({t.server for t in tools}):
        whole = picked is None or server in picked
        lines.append((f"{server} (every tool)", server, whole))
        for tool in sorted((t for t in tools if t.server == server), key=lambda t: t.name):
            on = whole or (picked is not None and tool.key in picked)
            lines.append((f"  {tool.name}", tool.key, on))
    return lines


def chosen_tools(tools: Sequence[ToolSpec], selected: list[str]) -> tuple[str, ...] | None:
    """The selection as the assistant stores it: None when everything is chosen."""
    every = {t.server for t in tools} | {t.key for t in tools}
    if every <= set(selected):
        return None
    servers = {s for s in selected if "/" not in s}
    return tuple(sorted(servers | {k for k in selected if "/" in k and k.split("/", 1)[0] not in servers}))


def _field(value: object, placeholder: str, wid: str) -> Input:
    return Input(_s(value), placeholder=placeholder, id=wid, compact=True)


def _s(value: object) -> str:
    return "" if value is None else str(value)
