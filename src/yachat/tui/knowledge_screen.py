"""The knowledge screen: an assistant's files and folders, added, removed and
reindexed in a background thread with a progress bar; what was skipped, and why.
Then, when the backend has text embeddings, the passages' vectors, with progress too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from yachat.core.errors import UserFacingError, explain
from yachat.core.knowledge.indexer import IndexReport, ProgressSink, add_paths, find_root, reindex
from yachat.core.knowledge.sources import shown_path
from yachat.store import Store, StoreError
from yachat.store.models import Assistant

if TYPE_CHECKING:
    from yachat.core.knowledge.embeddings import EmbedProgress

SKIPPED_SHOWN = 50
Job = Callable[[ProgressSink, Callable[[], bool]], IndexReport]  # (progress, should_stop) -> report
# (assistant id, progress, should_stop) -> passages embedded, None: the backend has no embeddings
Embed = Callable[[int, "EmbedProgress", Callable[[], bool]], Awaitable[int | None]]


def report_text(report: IndexReport) -> str:
    lines = [
        f"Indexed {report.added} new and {report.updated} changed files ({report.chunks} passages); "
        f"{report.unchanged} unchanged, {report.removed} removed."
    ]
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)}:")
        lines += [f"  {shown_path(path)}: {reason}" for path, reason in report.skipped[:SKIPPED_SHOWN]]
        if len(report.skipped) > SKIPPED_SHOWN:
            lines.append(f"  … and {len(report.skipped) - SKIPPED_SHOWN} more (`yachat kb list --files`)")
    return "\n".join(lines)


class KnowledgeScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    KnowledgeScreen { align: center middle; }
    KnowledgeScreen > Vertical {
        width: 96; height: 90%; border: thick $primary; background: $surface; padding: 1 2;
    }
    KnowledgeScreen #title { text-style: bold; }
    KnowledgeScreen #roots { height: 1fr; min-height: 4; margin-top: 1; }
    KnowledgeScreen Horizontal { height: auto; margin-top: 1; }
    KnowledgeScreen Horizontal > Input { width: 1fr; }
    KnowledgeScreen Button { margin-left: 1; }
    KnowledgeScreen #progress { margin-top: 1; }
    KnowledgeScreen #report-box { height: 1fr; margin-top: 1; }
    KnowledgeScreen #report { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, store: Store, assistant: Assistant, embed: Embed | None = None) -> None:
        super().__init__()
        self.store = store
        self.assistant = assistant
        self.embed = embed
        self.indexing = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Knowledge of {self.assistant.name} — Esc closes"), id="title")
            yield Static(Text("Files and folders it answers from; each answer lists the passages it used."))
            yield OptionList(id="roots")
            with Horizontal():
                yield Input(placeholder="a file or folder to add, e.g. ~/notes", id="path")
                yield Button("Add", id="add", variant="primary")
            with Horizontal():
                yield Button("Remove selected", id="remove")
                yield Button("Reindex", id="reindex")
                yield Button("Close", id="close")
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="status")
            with VerticalScroll(id="report-box"):
                yield Static("", id="report")

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False  # until something is indexed
        self.refresh_roots()
        self.query_one("#path", Input).focus()

    def refresh_roots(self) -> None:
        roots = self.store.knowledge_roots(self.assistant.id)
        listing = self.query_one("#roots", OptionList)
        listing.clear_options()
        if not roots:
            empty = Text("Nothing yet: add a file or folder below.", style="dim")
            listing.add_option(Option(empty, disabled=True))
            return
        for root in roots:
            skipped = f", {root.skipped} skipped" if root.skipped else ""
            embedded = self.store.embedded_chunks(root.id) if root.chunks else 0
            vectors = f" ({embedded} with vectors)" if embedded else ""
            line = f"{shown_path(root.path)}  {root.files} files, {root.chunks} passages{vectors}{skipped}"
            listing.add_option(Option(Text(line), id=root.path))

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#add")
    def _add(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.notify("Type the path of a file or folder first.", severity="warning")
            return
        self._start(lambda progress, stop: add_paths(self.store, self.assistant.id, [path], progress, stop))

    @on(Button.Pressed, "#reindex")
    def _reindex(self) -> None:
        self._start(lambda progress, stop: reindex(self.store, self.assistant.id, progress, stop))

    @on(Button.Pressed, "#remove")
    def _remove(self) -> None:
        listing = self.query_one("#roots", OptionList)
        if listing.highlighted is None or self.indexing:
            return
        path = listing.get_option_at_index(listing.highlighted).id
        if path is None:
            return
        try:
            root = find_root(self.store, self.assistant.id, path)
            self.store.remove_knowledge_root(root.id)
        except (UserFacingError, StoreError) as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.query_one("#status", Label).update(Text(f"Removed {shown_path(path)}."))
        self.refresh_roots()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        # A running index stops after its current file; what it indexed is kept.
        self.workers.cancel_group(self, "index")
        self.dismiss(None)

    def _start(self, job: Job) -> None:
        if self.indexing:
            self.notify("Indexing is under way; wait for it or close the screen to stop it.")
            return
        self.indexing = True
        self.query_one("#status", Label).update("Looking for files…")
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self._index(job)

    @work(thread=True, group="index", exit_on_error=False)
    def _index(self, job: Job) -> None:
        worker = get_current_worker()

        def progress(done: int, total: int, path: str) -> None:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._progress, done, total, path)

        try:
            report = job(progress, lambda: worker.is_cancelled)
        except (UserFacingError, StoreError) as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, str(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._done, report)

    def _progress(self, done: int, total: int, path: str) -> None:
        self.query_one("#progress", ProgressBar).update(total=max(1, total), progress=done)
        if path:
            self.query_one("#status", Label).update(Text(f"{done}/{total}  {shown_path(path)}", no_wrap=True))

    def _done(self, report: IndexReport) -> None:
        self.query_one("#report", Static).update(Text(report_text(report)))
        self.query_one("#path", Input).value = ""
        self.refresh_roots()
        if self.embed is None:
            self._finished("Done.")
            return
        self.query_one("#status", Label).update("Embedding passages…")
        self._embed(self.embed)

    @work(group="index", exit_on_error=False)
    async def _embed(self, embed: Embed) -> None:
        worker = get_current_worker()
        try:
            done = await embed(self.assistant.id, self._embed_progress, lambda: worker.is_cancelled)
        except Exception as exc:
            # The words' index is there whatever happens to the vectors.
            self._finished(f"Indexed; searched by words only for now: {explain(exc)}")
            return
        if done is None:
            self._finished("Done. The backend has no text embeddings: passages are searched by their words.")
        else:
            self._finished(f"Done; {done} passages embedded." if done else "Done.")

    def _embed_progress(self, done: int, total: int) -> None:
        self.query_one("#progress", ProgressBar).update(total=max(1, total), progress=done)
        self.query_one("#status", Label).update(Text(f"Embedding passages: {done}/{total}"))

    def _finished(self, status: str) -> None:
        self.indexing = False
        self.query_one("#status", Label).update(Text(status))
        self.refresh_roots()

    def _failed(self, message: str) -> None:
        self.indexing = False
        self.query_one("#status", Label).update(Text(message, style="red"))
