"""The rules about assistants that take more than one store call: saving an
assistant with where it applies (the thread, the default), and switching its
model (a transport or reasoning mode chosen for the old model does not carry over)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yachat.core.errors import UserFacingError
from yachat.core.model_catalog import REASONING_MODES, transport_for
from yachat.core.transport import Transport
from yachat.model_ref import model_ref_problem
from yachat.store import Assistant, ExpirationPolicy, Store


@dataclass(frozen=True)
class ModelSwitch:
    assistant: Assistant  # as saved, with the new model
    transport: Transport  # the new model's, from the catalogue
    reasoning_dropped: str | None  # the reasoning mode turned off: the new transport has no such mode


class AssistantRules:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(
        self,
        assistant_id: int | None,
        fields: Mapping[str, Any],
        *,
        thread_id: int | None = None,
        ttl_days: int | None = None,
        policy: ExpirationPolicy = ExpirationPolicy.STATIC,
        make_default: bool = False,
    ) -> Assistant:
        """Create (`assistant_id` None) or update an assistant; a thread, if given, answers with it
        and takes the TTL; with no thread (or asked), it becomes the default for new threads."""
        store = self.store
        if assistant_id is None:
            assistant = store.create_assistant(**fields)
        else:
            assistant = store.update_assistant(assistant_id, **fields)
        if thread_id is not None:
            store.set_thread_assistant(thread_id, assistant.id)
            store.set_thread_ttl(thread_id, ttl_days, policy)
        if make_default or thread_id is None:
            store.set_default_assistant(assistant.id)
        return assistant

    def switch_model(self, assistant_id: int, model: str) -> ModelSwitch:
        """Give the assistant another model; its answers so far keep naming theirs."""
        problem = model_ref_problem(model)
        if problem:
            raise UserFacingError(problem)
        assistant = self.store.get_assistant(assistant_id)
        if assistant is None:
            raise UserFacingError(f"assistant {assistant_id} does not exist")
        transport = transport_for(model)  # a transport chosen for the old model is not this one's
        fields: dict[str, Any] = {"model": model.strip(), "transport": None}
        dropped = None
        mode = assistant.reasoning_mode
        if mode and mode not in REASONING_MODES[transport]:
            fields["reasoning_mode"] = None
            dropped = mode
        return ModelSwitch(self.store.update_assistant(assistant.id, **fields), transport, dropped)
