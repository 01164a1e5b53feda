"""The actions on messages and threads that open dialogs or touch the clipboard:
copy, edit and resend, assistant settings, export, help. Mixed into the app.

The screens these open are imported when first opened: none is on the first
frame, and with what they import (the knowledge indexer, its extractors) they
were ~8 ms of start-up (~30 ms where no bytecode is cached)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App

from yachat.core.errors import UserFacingError
from yachat.core.knowledge.sources import shown_path
from yachat.text import one_line
from yachat.tui.composer import Composer
from yachat.tui.message_pane import MessagePane, MessageWidget, copy_text
from yachat.tui.render import code_blocks
from yachat.tui.thinking import LiveThinking

if TYPE_CHECKING:
    from yachat.core.chat import ChatCore
    from yachat.tui.settings_screen import SettingsResult


class MessageActions(App[None]):
    """The app's base: where the pane and composer are, and the actions above."""

    core: ChatCore

    @property
    def thread_id(self) -> int | None:
        """The open thread: the app reads it from its chat screen."""
        raise NotImplementedError

    @property
    def pane(self) -> MessagePane:
        return self.query_one(MessagePane)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def update_topbar(self) -> None:
        """Shows the backend and the model; the app fills it in."""

    def action_scroll_messages(self, pages: int) -> None:
        # A page moves at once, as in a pager: an animated page paints ~10 frames a press,
        # and a held key stacks them.
        pane = self.pane
        if pages < 0:
            pane.scroll_page_up(animate=False)
        else:
            pane.scroll_page_down(animate=False)

    def _focused_message(self) -> MessageWidget | None:
        return self.focused if isinstance(self.focused, MessageWidget) else None

    def _last_answer(self) -> str | None:
        if self.thread_id is None:
            return None
        last = self.core.store.last_message(self.thread_id, role="assistant")
        return last.text if last and last.text else None

    def _copy(self, text: str | None, what: str) -> None:
        copy_text(self, text, what)

    def action_copy_last_answer(self) -> None:
        self._copy(self._last_answer(), "answer")

    def action_copy_last_code(self) -> None:
        blocks = code_blocks(self._last_answer() or "")
        self._copy(blocks[-1] if blocks else None, "code block")

    def action_copy_message(self) -> None:
        """The palette's copy: the focused message's own action."""
        widget = self._focused_message()
        if widget is None:
            self.notify("Click a message first, then copy it.")
        else:
            widget.action_copy()

    def action_copy_message_code(self) -> None:
        widget = self._focused_message()
        if widget is None:
            self.notify("Click a message first, then copy its code.")
        else:
            widget.action_copy_code()

    def action_copy_message_text(self, message_id: int) -> None:
        message = self.core.store.get_message(message_id)
        self._copy(message.text if message else None, "message")

    def action_copy_message_code_blocks(self, message_id: int) -> None:
        message = self.core.store.get_message(message_id)
        blocks = code_blocks(message.text) if message else []
        self._copy("\n".join(blocks) if blocks else None, "code")

    def action_edit_message(self) -> None:
        widget = self._focused_message()
        if widget is None:
            self.notify("Focus one of your messages (click it) to edit and resend it.")
        else:
            widget.action_edit()

    @on(MessageWidget.EditRequested)
    def _edit_message(self, event: MessageWidget.EditRequested) -> None:
        composer = self.composer
        composer.set_text(event.message.text)
        composer.editing_message_id = event.message.id
        composer.focus()
        self.notify("Editing: Enter sends it to a new thread (the original stays); Esc cancels.")

    @work(exit_on_error=False)
    async def action_settings(self) -> None:
        from yachat.tui.settings_screen import SettingsScreen

        store = self.core.store
        thread = store.get_thread(self.thread_id) if self.thread_id else None
        screen = SettingsScreen(
            store.list_assistants(),
            self.core.assistant_for(self.thread_id),
            thread,
            self.core.list_models,
            self.core.known_tools(),
        )
        result = await self.push_screen_wait(screen)
        if result is not None:
            self._apply_settings(result)

    def _apply_settings(self, result: SettingsResult) -> None:
        assistant = self.core.assistants.save(
            result.assistant_id,
            result.fields,
            thread_id=self.thread_id,
            ttl_days=result.ttl_days,
            policy=result.policy,
            make_default=result.make_default,
        )
        self.update_topbar()
        self.notify(f"Assistant “{one_line(assistant.name, 40)}” saved.", markup=False)

    # -- models and thinking ------------------------------------------------------

    def action_knowledge(self) -> None:
        """The files this thread's assistant answers from: add, remove, reindex."""
        from yachat.tui.knowledge_screen import KnowledgeScreen

        core = self.core
        self.push_screen(
            KnowledgeScreen(core.store, core.assistant_for(self.thread_id), core.embed_knowledge)
        )

    @work(exit_on_error=False)
    async def action_pick_model(self) -> None:
        """Set the model of this thread's assistant (answers so far keep naming theirs)."""
        from yachat.tui.model_picker import ModelPicker

        assistant = self.core.assistant_for(self.thread_id)
        model = await self.push_screen_wait(ModelPicker(self.core.list_models, assistant.model))
        if not model or model == assistant.model:
            return
        assistant = self.core.assistant_for(self.thread_id)  # it may have changed meanwhile
        switch = self.core.assistants.switch_model(assistant.id, model)
        transport = switch.transport
        note = ""
        if switch.reasoning_dropped:
            note = f"; reasoning {switch.reasoning_dropped} does not apply to it, so it is off"
        self.update_topbar()
        if "model" in self.core.settings.sources:
            note += f"; this session still uses {self.core.settings.model}, named at start"
        who = one_line(assistant.name, 30)
        self.notify(f"{who} now answers with {one_line(model, 60)} ({transport.value}){note}.", markup=False)

    def action_toggle_thinking(self) -> None:
        """Fold or unfold the thinking of the focused message, else of the last answer."""
        focused = self._focused_message()
        if focused is not None and focused.toggle_thinking():
            return
        pane = self.pane
        for widget in reversed(pane.shown()):
            if isinstance(widget, LiveThinking):
                widget.toggle()
                return
            if isinstance(widget, MessageWidget) and widget.toggle_thinking():
                return
        self.notify("No answer here shows its thinking.")

    def action_toggle_thinking_of(self, message_id: int) -> None:
        """A click on a finished answer's thinking line."""
        widget = next((w for w in self.pane.message_widgets() if w.message.id == message_id), None)
        if widget is not None:
            widget.toggle_thinking()

    @work(exit_on_error=False)
    async def action_export(self) -> None:
        from yachat.tui.dialogs import Ask

        if self.thread_id is None:
            self.notify("Open a thread to export it.")
            return
        default = f"yachat-thread-{self.thread_id}.md"
        answer = await self.push_screen_wait(Ask("Export to file (.md or .json)", default, ok="Export"))
        if not answer or not answer.strip():
            return
        try:
            path = self.core.threads.export_to_file(self.thread_id, answer.strip())
        except UserFacingError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        except OSError as exc:
            self.notify(f"Cannot write {exc.filename}: {exc.strerror}", severity="error", markup=False)
            return
        self.notify(f"Exported to {shown_path(str(path.resolve()))}", markup=False)

    def action_help(self) -> None:
        from yachat.tui.help_screen import HelpScreen

        self.push_screen(HelpScreen(self))
