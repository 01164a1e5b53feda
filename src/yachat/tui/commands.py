"""The command palette (ctrl+p): every yachat action by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = [
    ("New thread", "new_thread", "Start a new conversation"),
    ("Stop the answer", "stop_or_back", "Stop the streaming answer; the part so far is kept"),
    ("Retry", "retry", "Run the last message again after an error or a stop"),
    ("Regenerate the last answer", "regenerate", "Replace the last answer with a new one"),
    ("Copy the last answer", "copy_last_answer", "To the clipboard"),
    ("Copy the last code block", "copy_last_code", "From the last answer, to the clipboard"),
    ("Copy the focused message", "copy_message", "Click a message first"),
    ("Edit and resend the focused message", "edit_message", "Forks a new thread; the original stays"),
    ("Rename thread", "rename_thread", "The highlighted or open thread"),
    ("Delete thread", "delete_thread", "With confirmation; ctrl+z undoes"),
    ("Undo delete", "undo_delete", "Bring back the last deleted thread"),
    ("Export thread", "export", "As Markdown (.md) or JSON (.json)"),
    ("Search", "search", "Thread titles and message text"),
    ("Toggle sidebar", "toggle_sidebar", "Give the messages the full width"),
    ("Assistant settings", "settings", "Model, instruction, temperature, reasoning, truncation, TTL"),
    ("Pick a model", "pick_model", "The backend's models and the known ones, or any name"),
    ("Knowledge", "knowledge", "The files the assistant answers from: add, remove, reindex"),
    ("Fold or unfold the thinking", "toggle_thinking", "Of the focused message, else of the last answer"),
    ("Help: all keys", "help", "Every binding and its id for remapping"),
]


class YachatCommands(Provider):
    async def discover(self) -> Hits:
        for name, action, help_text in ACTIONS:
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in ACTIONS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), help=help_text)

    async def _run(self, action: str) -> None:
        # The thread actions are the chat screen's, the rest the app's.
        chat = getattr(self.app, "chat", None)
        await self.app.run_action(action, chat if hasattr(chat, f"action_{action}") else self.app)
