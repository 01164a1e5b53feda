"""Every place yachat leans on a Textual or Rich internal, and nowhere else.

Each helper names the version whose private name or unpublished behaviour it
was written against (textual 8.2.8, rich 15.0.0) and why yachat needs it.
`tests/tui/test_textual_compat.py` checks each assumption by name, so an
upgrade that breaks one fails there, in one test, rather than somewhere in the
pane or on a dead terminal. No other module imports `textual._…`/`rich._…`
or touches a private attribute of a Textual or Rich object (a test checks that too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

from markdown_it.token import Token
from rich.markdown import Markdown, MarkdownElement, UnknownElement
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size
from textual.reactive import Reactive

if TYPE_CHECKING:
    from textual.drivers._writer_thread import WriterThread
    from textual.screen import Screen
    from textual.widget import Widget

_ReturnType = TypeVar("_ReturnType")


def clear_style_caches() -> None:
    """Drop Textual's cache of widgets' inner/outer styles (textual 8.2.8:
    `textual._styles_cache.StylesCache.get_inner_outer`, an `lru_cache` on a method).

    Why: that cache holds the style caches of the last 1,024 widgets, every line
    they painted included, alive after the widgets are removed; measured, the bulk
    of a long session's memory growth. Its entries are two Styles each, cheap to
    make again, so the message pane clears it when it removes messages.
    """
    from textual._styles_cache import StylesCache

    StylesCache.get_inner_outer.cache_clear()


class TokenMarkdown(Markdown):
    """Rich's Markdown renderer over tokens that were already parsed (rich 15.0.0).

    Why: `Markdown.__init__` builds a new markdown-it parser and parses the text
    every time; yachat splits a message into top-level blocks once and renders
    each block on its own, so it skips that `__init__` and sets the attributes it
    would have set (`markup`, `parsed`, `code_theme`, `justify`, `style`,
    `hyperlinks`, `inline_code_lexer`, `inline_code_theme`), which
    `Markdown.__rich_console__` reads.
    """

    def __init__(self, tokens: Sequence[Token], code_theme: str = "monokai") -> None:
        # Deliberately not super().__init__: it would build a new parser and parse again.
        self.markup = ""
        self.parsed = list(tokens)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


def markdown_inline_tags() -> frozenset[str]:
    """The HTML tags Rich's Markdown renders inline, inside their parent element
    (rich 15.0.0: `Markdown.inlines`, a class attribute).

    Why, with the three below: yachat renders a message a top-level block at a time
    and puts Rich's blank lines between blocks itself, so it replays the part of
    Rich's walk over the tokens that decides them (`markdown_blocks`). A test holds
    the blocks joined against Rich's rendering of the whole document.
    """
    return frozenset(Markdown.inlines)


def markdown_element(token_type: str) -> type[MarkdownElement]:
    """The element class Rich renders a token type with (rich 15.0.0:
    `Markdown.elements`, token type to class; `UnknownElement` for the rest)."""
    return Markdown.elements.get(token_type) or UnknownElement


def collects_children(element: type[MarkdownElement]) -> bool:
    """Whether the element gathers its children itself, as list items and table cells
    are (rich 15.0.0: it overrides `MarkdownElement.on_child_close`), so Rich does
    not render them with a blank line of their own."""
    return element.on_child_close is not MarkdownElement.on_child_close


def blank_line_after(element: type[MarkdownElement]) -> bool:
    """Whether Rich puts a blank line after the element (rich 15.0.0: its
    `new_line` class attribute)."""
    return bool(element.new_line)


def virtual_size_without_layout(repaint: bool = True) -> Reactive[Size]:
    """A `virtual_size` reactive to redefine on a widget, one that does not lay the
    widget out again when it changes (textual 8.2.8: `Widget.virtual_size` is
    `Reactive(Size(0, 0), layout=True)`, and `Widget._size_updated` assigns it
    through the attribute, so a subclass's redefinition is the one that runs).

    Why: a growing answer changes its own and the pane's virtual size every frame;
    Textual would then lay it out a second time, though the pass that measured the
    new size already placed everything and moved the scrollbar.
    """
    return Reactive(Size(0, 0), layout=False, repaint=repaint)


def anchor_released(widget: Widget) -> bool:
    """Whether the user scrolled an anchored widget away from its end (textual 8.2.8:
    `Widget._anchor_released`, set by `release_anchor()` and by a user's scroll, and
    cleared once the view is back at the bottom; `is_anchored` stays True throughout).

    Why: the message pane follows a streaming answer only while this is False, and
    offers "new content below" once it is True. Textual has no public reading of it.
    """
    return bool(widget._anchor_released)


def keymap_of(app: App[Any]) -> Mapping[str, str]:
    """The key map the app runs with, binding id to keys (textual 8.2.8: `App._keymap`,
    set by the public `set_keymap`/`update_keymap` but never published).

    Why: the F1 help lists the keys the user actually has, their remaps included.
    """
    return dict(getattr(app, "_keymap", {}))


class AppWithErrorHook(App[_ReturnType], Generic[_ReturnType]):
    """An App that hears of each unhandled error before Textual exits on it
    (textual 8.2.8: `App._handle_exception(error)`, the one entry point every
    unhandled error of a handler, worker or callback goes through).

    Why: yachat logs the traceback to its log file and prints one line naming it
    after the terminal is restored, instead of a traceback over the screen.
    """

    def unhandled_error(self, error: Exception) -> None:
        """Called with the error; Textual then ends the app as it would anyway."""

    def _handle_exception(self, error: Exception) -> None:
        self.unhandled_error(error)
        super()._handle_exception(error)


class AppWithFrameHook(App[_ReturnType], Generic[_ReturnType]):
    """An App told of each frame the compositor hands to the terminal (textual 8.2.8:
    `App._display(screen, renderable)`, called with every update, headless too,
    where it writes nothing).

    Why: the benchmarks time a frame at the moment a real terminal would paint it.
    """

    def frame_painted(self) -> None:
        """Called after each frame (a non-empty update)."""

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        super()._display(screen, renderable)
        if renderable is not None:
            self.frame_painted()


def driver_output(driver: LinuxDriver) -> IO[str]:
    """The file the driver's writer thread writes the terminal's bytes to
    (textual 8.2.8: `LinuxDriver._file`, handed to its `WriterThread` when
    application mode starts).

    Why: yachat puts a wrapper in its place that drops output once the terminal is
    gone instead of letting the writer thread die on EIO (see `set_driver_output`).
    """
    file = driver._file
    assert file is not None, "a terminal app has a stderr"
    return file


def set_driver_output(driver: LinuxDriver, output: Any) -> None:
    """Make the driver's writer thread write to `output` (any object with `write`,
    `flush` and `fileno`): textual 8.2.8 reads `LinuxDriver._file` when it starts the
    writer, so this must happen before `start_application_mode`.

    Why: a dead writer thread stops draining its bounded queue (30 writes), and the
    next write past it, often the driver's close, waited for ever (issue 21).
    """
    driver._file = output


class ResumeGuardedLinuxDriver(LinuxDriver):
    """Textual's Linux driver, asked before it resumes on SIGCONT (textual 8.2.8:
    `LinuxDriver._sigcont_application`, the SIGCONT handler, which starts
    application mode again with a new writer thread).

    Why: a closing terminal sends SIGHUP then SIGCONT; resuming on a terminal that
    is gone started a writer that died at once and fed the exit hang (issue 21).
    """

    def may_resume(self) -> bool:
        """Whether a SIGCONT is a return from ctrl+z worth resuming for."""
        return True

    def _sigcont_application(self, *args: Any) -> None:
        if self.may_resume():
            super()._sigcont_application(*args)


def deliver_sigcont(driver: LinuxDriver) -> None:
    """Run the driver's SIGCONT handling as the signal would (textual 8.2.8:
    `LinuxDriver._sigcont_application`). For tests of the resume guard."""
    driver._sigcont_application()


def writer_thread_of(driver: LinuxDriver) -> WriterThread | None:
    """The driver's running writer thread, or None (textual 8.2.8:
    `LinuxDriver._writer_thread`). For tests: a resume started one, or did not."""
    return driver._writer_thread


def new_writer_thread(file: Any) -> WriterThread:
    """Textual's writer thread over `file` (textual 8.2.8:
    `textual.drivers._writer_thread.WriterThread`). For tests of what it does on a
    terminal that hangs up, the cause of issue 21's hang."""
    from textual.drivers._writer_thread import WriterThread

    return WriterThread(file)


def writer_queue_limit() -> int:
    """How many writes the writer thread queues before `write` blocks (textual 8.2.8:
    `textual.drivers._writer_thread.MAX_QUEUED_WRITES`). For the same tests."""
    from textual.drivers._writer_thread import MAX_QUEUED_WRITES

    return MAX_QUEUED_WRITES


def screen_lines(screen: Screen[Any]) -> list[str]:
    """The text of each row of the screen as last composed (textual 8.2.8:
    `Screen._compositor.render_strips()`). For tests that read the screen as a user
    does, headless: Pilot has no public reading of the painted rows."""
    return [strip.text for strip in screen._compositor.render_strips()]
