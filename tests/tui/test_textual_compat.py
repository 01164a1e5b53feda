"""Each Textual/Rich internal yachat leans on, checked by name (textual 8.2.8, rich 15.0.0).

An upgrade that moves or changes one of them fails here, in the test named for it,
instead of somewhere in the pane or on a terminal that hangs up. This is the one
test module that reads private names directly: it checks they still are what
`yachat.tui.textual_compat` assumes. The last test keeps every other module honest.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import importlib.metadata
import inspect
import io
import os
import pty
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import rich
import textual
from rich.console import Console
from rich.markdown import Markdown, UnknownElement
from textual import events
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.drivers.linux_driver import LinuxDriver
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Static, TextArea

from yachat.tui import textual_compat
from yachat.tui.markdown_blocks import parse
from yachat.tui.textual_compat import (
    AppWithErrorHook,
    AppWithFrameHook,
    ResumeGuardedLinuxDriver,
    TokenMarkdown,
    anchor_released,
    blank_line_after,
    clear_style_caches,
    collects_children,
    deliver_sigcont,
    driver_output,
    keymap_of,
    markdown_element,
    markdown_inline_tags,
    new_writer_thread,
    screen_lines,
    set_driver_output,
    virtual_size_without_layout,
    writer_queue_limit,
    writer_thread_of,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.anyio


def test_the_versions_checked_against() -> None:
    """A new major version is the moment to read this module's docstrings again."""
    assert textual.__version__.split(".")[0] == "8"
    assert importlib.metadata.version("rich").split(".")[0] == "15"


# -- the message pane --------------------------------------------------------------


async def test_styles_cache_is_an_lru_cache_that_clears() -> None:
    from textual._styles_cache import StylesCache

    cached = StylesCache.get_inner_outer
    assert callable(cached.cache_clear) and callable(cached.cache_info)

    class Painted(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("x", classes="a")
            yield Static("y", classes="b")

    async with Painted().run_test(size=(20, 4)) as pilot:
        await pilot.pause()
        assert cached.cache_info().currsize > 0  # painting fills it
        clear_style_caches()
        assert cached.cache_info().currsize == 0


def test_token_markdown_sets_what_rich_markdown_init_sets() -> None:
    plain = Markdown("x")
    ours = TokenMarkdown(parse("x"))
    assert set(vars(ours)) == set(vars(plain))


def test_token_markdown_renders_as_rich_markdown() -> None:
    text = "# Title\n\nSome *text* and `code`.\n\n- one\n- two\n\n```python\nprint(1)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    console = Console(width=60, file=io.StringIO(), color_system="truecolor", force_terminal=True)

    def rendered(renderable: Markdown) -> list[str]:
        return [str(line) for line in console.render_lines(renderable, pad=True)]

    assert rendered(TokenMarkdown(parse(text))) == rendered(Markdown(text, hyperlinks=False))


def test_rich_markdown_walk_as_the_blocks_replay_it() -> None:
    """The pieces of Rich's walk `markdown_blocks` replays to place blank lines."""
    assert (
        isinstance(Markdown.inlines, frozenset | set)
        and {"em", "strong", "code", "s"} <= markdown_inline_tags()
    )
    assert isinstance(Markdown.elements, dict)
    assert markdown_element("paragraph_open").__name__ == "Paragraph"
    assert markdown_element("fence").__name__ == "CodeBlock"
    assert markdown_element("no_such_token") is UnknownElement
    # List items and table parts gather their children; a paragraph and a heading do not.
    assert collects_children(markdown_element("bullet_list_open"))
    assert collects_children(markdown_element("table_open"))
    assert not collects_children(markdown_element("paragraph_open"))
    assert not collects_children(markdown_element("heading_open"))
    assert blank_line_after(markdown_element("paragraph_open"))
    assert blank_line_after(UnknownElement) and not blank_line_after(markdown_element("hr"))


def test_widgets_virtual_size_lays_out_and_ours_does_not() -> None:
    theirs = Widget.__dict__["virtual_size"]
    assert isinstance(theirs, Reactive) and theirs._layout
    ours = virtual_size_without_layout(repaint=False)
    assert not ours._layout and not ours._repaint
    assert virtual_size_without_layout()._repaint


async def test_a_redefined_virtual_size_is_still_kept_up_to_date() -> None:
    """Textual's layout assigns the size through the attribute, so the subclass's
    reactive is the one set: the pane still scrolls over its whole content."""

    class Pane(VerticalScroll):
        virtual_size = virtual_size_without_layout()

    class Scrolled(App[None]):
        def compose(self) -> ComposeResult:
            with Pane():
                yield Static("\n".join(str(i) for i in range(50)))

    async with Scrolled().run_test(size=(20, 10)) as pilot:
        await pilot.pause()
        pane = pilot.app.query_one(Pane)
        assert pane.virtual_size.height == 50
        assert pane.max_scroll_y == 40


async def test_anchor_released_by_a_scroll_up_and_restored_at_the_bottom() -> None:
    class Scrolled(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Static("\n".join(str(i) for i in range(50)))

    async with Scrolled().run_test(size=(20, 10)) as pilot:
        pane = pilot.app.query_one(VerticalScroll)
        pane.anchor()
        await pilot.pause()
        assert pane.is_anchored and not anchor_released(pane)
        pane.focus()
        await pilot.press("up")  # a user's scroll lets go of the bottom
        await pilot.pause()
        assert pane.is_anchored and anchor_released(pane)
        pane.release_anchor()
        assert anchor_released(pane)
        pane.scroll_end(animate=False, immediate=True)
        assert not anchor_released(pane)


# -- the app -----------------------------------------------------------------------


async def test_keymap_of_reads_what_set_keymap_set() -> None:
    app: App[None] = App()
    async with app.run_test():
        assert keymap_of(app) == {}
        app.set_keymap({"yachat.quit": "ctrl+x"})
        assert keymap_of(app) == {"yachat.quit": "ctrl+x"}


async def test_every_unhandled_error_passes_through_handle_exception() -> None:
    assert list(inspect.signature(App._handle_exception).parameters) == ["self", "error"]
    heard: list[Exception] = []

    class Failing(AppWithErrorHook[None]):
        def unhandled_error(self, error: Exception) -> None:
            heard.append(error)

        def on_key(self, event: events.Key) -> None:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        async with Failing().run_test() as pilot:
            await pilot.press("x")
            await pilot.pause()
    assert [str(e) for e in heard] == ["boom"]


async def test_each_frame_passes_through_display_headless_too() -> None:
    assert list(inspect.signature(App._display).parameters) == ["self", "screen", "renderable"]

    class Counted(AppWithFrameHook[None]):
        frames = 0

        def compose(self) -> ComposeResult:
            yield Static("x", id="x")

        def frame_painted(self) -> None:
            self.frames += 1

    async with Counted().run_test() as pilot:
        await pilot.pause()
        before = pilot.app.frames
        pilot.app.query_one("#x", Static).update("y")
        await pilot.pause()
        assert before > 0 and pilot.app.frames > before


async def test_a_subclass_on_key_that_prevents_default_keeps_text_area_out() -> None:
    """Not an internal, but what the composer's Enter and Up rely on: a subclass's
    `on_key` runs before TextArea's own key handling, and `prevent_default` stops it."""

    class Keyed(TextArea):
        def on_key(self, event: events.Key) -> None:
            if event.key == "x":
                event.prevent_default()

    class Typing(App[None]):
        def compose(self) -> ComposeResult:
            yield Keyed()

    async with Typing().run_test() as pilot:
        await pilot.press("x", "y", "x")
        assert pilot.app.query_one(Keyed).text == "y"


async def test_screen_lines_are_the_painted_rows() -> None:
    class Hello(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello there")

    async with Hello().run_test(size=(30, 5)) as pilot:
        await pilot.pause()
        lines = screen_lines(pilot.app.screen)
        assert len(lines) == 5 and all(len(line) == 30 for line in lines)
        assert lines[0].startswith("hello there")


# -- the terminal driver -----------------------------------------------------------


@pytest.fixture
def slave_fd() -> Any:
    master, slave = pty.openpty()
    yield master, slave
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_the_driver_writes_through_its_file_and_takes_another(slave_fd: tuple[int, int]) -> None:
    class Sink:
        def write(self, text: str) -> None: ...
        def flush(self) -> None: ...
        def fileno(self) -> int:
            return slave_fd[1]

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}

    async def check() -> None:
        driver = LinuxDriver(App())
        assert driver_output(driver) is sys.__stderr__
        sink = Sink()
        set_driver_output(driver, sink)
        assert driver_output(driver) is sink

    try:
        asyncio.run(check())
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_sigcont_resumes_through_the_guard(slave_fd: tuple[int, int]) -> None:
    assert "_sigcont_application" in vars(LinuxDriver)
    asked: list[bool] = []

    class Refusing(ResumeGuardedLinuxDriver):
        def may_resume(self) -> bool:
            asked.append(True)
            return False

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}

    async def check() -> None:
        driver = Refusing(App())
        driver.fileno, driver.input_tty = slave_fd[1], True
        assert writer_thread_of(driver) is None
        deliver_sigcont(driver)
        assert asked == [True] and writer_thread_of(driver) is None

    try:
        asyncio.run(check())
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_the_writer_thread_queues_a_bounded_number_of_writes(slave_fd: tuple[int, int]) -> None:
    assert writer_queue_limit() == 30
    file = open(slave_fd[1], "w", closefd=False)  # noqa: SIM115 (closed below)
    writer = new_writer_thread(file)
    assert writer.daemon and writer._queue.maxsize == writer_queue_limit()
    writer.start()
    writer.write("x")
    writer.stop()
    writer.join(5)
    assert not writer.is_alive()
    file.close()
    os.read(slave_fd[0], 16)


# -- nothing else reaches an internal ----------------------------------------------

# Private names of other libraries that Textual or Rich happen to use too.
OTHERS = {"_exit", "_error"}  # os._exit; the SDK's HTTP error body (tests/server)
ALLOWED = {
    ROOT / "src/yachat/tui/textual_compat.py",
    Path(__file__).resolve(),
}


def _private_names_of(package: Any) -> set[str]:
    """The single-underscore names a package defines on its classes and objects."""
    names: set[str] = set()
    for path in Path(package.__path__[0]).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _own_names(paths: list[Path]) -> set[str]:
    """The names yachat's own code defines (a private name of its own may be Textual's too)."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def _textual_bases(module: str, name: str) -> list[type]:
    cls = getattr(importlib.import_module(module), name, None)
    if not inspect.isclass(cls):
        return []
    return [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in ("textual", "rich")]


def _defined_by(bases: list[type], name: str) -> bool:
    return any(name in vars(b) or name in _instance_names(b) for b in bases)


_instance_cache: dict[type, set[str]] = {}


def _instance_names(cls: type) -> set[str]:
    if cls not in _instance_cache:
        try:
            tree = ast.parse(inspect.getsource(inspect.getmodule(cls)))  # type: ignore[arg-type]
        except (OSError, TypeError):
            tree = ast.Module(body=[], type_ignores=[])
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                for inner in ast.walk(node):
                    value = inner.value if isinstance(inner, ast.Attribute) else None
                    if isinstance(value, ast.Name) and value.id == "self":
                        names.add(inner.attr)  # type: ignore[union-attr]
        _instance_cache[cls] = names
    return _instance_cache[cls]


def test_no_other_module_reaches_a_textual_or_rich_internal() -> None:
    paths = [p for p in [*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")] if p not in ALLOWED]
    theirs = (_private_names_of(textual) | _private_names_of(rich)) - OTHERS
    ours = _own_names(paths)
    found: list[str] = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] in ("textual", "rich") and any(p.startswith("_") for p in parts[1:]):
                    found.append(f"{where}:{node.lineno}: imports {module}")
            if isinstance(node, ast.Attribute) and node.attr in theirs and node.attr not in ours:
                found.append(f"{where}:{node.lineno}: .{node.attr}")
        if "src" not in where.parts:
            continue
        module = ".".join(where.with_suffix("").parts[1:])
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = _textual_bases(module, node.name)
            if not bases:
                continue
            for stmt in node.body:  # a reactive of Textual's redefined: through a compat helper only
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
                if isinstance(target, ast.Name) and any(
                    isinstance(vars(b).get(target.id), Reactive) for b in bases
                ):
                    func = stmt.value.func if isinstance(stmt.value, ast.Call) else None  # type: ignore[union-attr]
                    helper = vars(textual_compat).get(getattr(func, "id", ""))
                    if getattr(helper, "__module__", None) != textual_compat.__name__:
                        found.append(f"{where}:{stmt.lineno}: {node.name}.{target.id} redefines a reactive")
            for inner in ast.walk(node):
                name = None
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = inner.name
                elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name | ast.Call):
                    is_self = isinstance(inner.value, ast.Name) and inner.value.id == "self"
                    is_super = (
                        isinstance(inner.value, ast.Call) and getattr(inner.value.func, "id", "") == "super"
                    )
                    name = inner.attr if is_self or is_super else None
                if name and name.startswith("_") and not name.startswith("__") and _defined_by(bases, name):
                    found.append(f"{where}:{inner.lineno}: {node.name}.{name} is {bases[0].__name__}'s")
    assert not found, "\n".join(found)


def test_the_compat_module_names_a_version_in_every_helper() -> None:
    for name, obj in vars(textual_compat).items():
        if getattr(obj, "__module__", None) != textual_compat.__name__ or name.startswith("_"):
            continue
        doc = inspect.getdoc(obj) or ""
        assert "textual 8.2.8" in doc or "rich 15.0.0" in doc, name
