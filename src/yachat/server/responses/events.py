"""The stream of one response, in the order the `openai` client's `responses.stream()` needs.

`response.created` (status queued) and `response.in_progress` first; then per
output item `output_item.added`, its parts and deltas, `output_item.done`; then
one terminal event (`response.completed`, `.incomplete` or `.failed`) carrying
the whole response. Every event has the next `sequence_number`. The writer also
keeps the response object itself, so a request that is not streamed gets the
same answer, and a stored one can be read while it is made.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from yachat.server.responses.items import new_id

Event = dict[str, Any]
# A call's arguments stream in pieces of this many characters, as the chat API sends them.
ARGUMENT_PIECE_CHARS = 8


class EventWriter:
    def __init__(
        self, body: dict[str, Any], on_change: Callable[[dict[str, Any]], None] = lambda _: None
    ) -> None:
        self.body = body
        self._sequence = 0
        self._on_change = on_change
        self._open: tuple[str, int] | None = None  # ("message" | "reasoning", output index)
        self.citations: list[dict[str, Any]] = []  # annotations the next message gets

    @property
    def output(self) -> list[dict[str, Any]]:
        output: list[dict[str, Any]] = self.body["output"]
        return output

    def _event(self, kind: str, **fields: Any) -> Event:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def _publish(self) -> None:
        self._on_change(copy.deepcopy(self.body))

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> list[Event]:
        created = self._event("response.created", response=copy.deepcopy(self.body))
        self.body["status"] = "in_progress"
        self._publish()
        return [created, self._event("response.in_progress", response=copy.deepcopy(self.body))]

    def finish(
        self,
        status: str,
        usage: dict[str, Any] | None,
        *,
        error: dict[str, Any] | None = None,
        incomplete: str | None = None,
    ) -> list[Event]:
        events = self.close_open(incomplete=status == "incomplete")
        self.body["status"] = status
        self.body["usage"] = usage
        self.body["error"] = error
        self.body["incomplete_details"] = {"reason": incomplete, "valid": True} if incomplete else None
        self.body["output_text"] = output_text(self.output)
        self._publish()
        kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
            status, "response.failed"
        )
        if status == "cancelled":
            kind = "response.failed"  # the openai client knows no "cancelled" event; the status says it
        if error is not None:
            events.append(
                self._event("error", code=error.get("code"), message=error.get("message"), param=None)
            )
        events.append(self._event(kind, response=copy.deepcopy(self.body)))
        return events

    # -- items -----------------------------------------------------------------

    def add(self, item: dict[str, Any]) -> tuple[int, Event]:
        self.output.append(item)
        return len(self.output) - 1, self._event(
            "response.output_item.added", output_index=len(self.output) - 1, item=copy.deepcopy(item)
        )

    def done(self, index: int, status: str = "completed") -> Event:
        item = self.output[index]
        item["status"] = status
        self._publish()
        return self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item))

    def item_event(self, index: int, suffix: str) -> Event:
        """A hosted tool's step, e.g. `web_search_call.searching`."""
        item = self.output[index]
        return self._event(f"response.{item['type']}.{suffix}", output_index=index, item_id=item["id"])

    def text(self, delta: str) -> list[Event]:
        events = self._ensure_open("message")
        index = self._open_index()
        part = self.output[index]["content"][0]
        part["text"] += delta
        common = {"item_id": self.output[index]["id"], "output_index": index, "content_index": 0}
        events.append(self._event("response.output_text.delta", **common, delta=delta, logprobs=[]))
        return events

    def reasoning(self, delta: str) -> list[Event]:
        events = self._ensure_open("reasoning")
        index = self._open_index()
        part = self.output[index]["summary"][0]
        part["text"] += delta
        common = {"item_id": self.output[index]["id"], "output_index": index, "summary_index": 0}
        events.append(self._event("response.reasoning_summary_text.delta", **common, delta=delta))
        return events

    def function_call(self, name: str, arguments: dict[str, Any]) -> list[Event]:
        events = self.close_open()
        text = json.dumps(arguments, ensure_ascii=False)
        item: dict[str, Any] = {
            "id": new_id(),
            "type": "function_call",
            "call_id": new_id(),
            "name": name,
            "arguments": "",
            "status": "in_progress",
            "valid": True,
        }
        index, added = self.add(item)
        events.append(added)
        item["arguments"] = text
        events += self.argument_events(index, "response.function_call_arguments", text, name=name)
        events.append(self.done(index))
        return events

    def argument_events(self, index: int, prefix: str, text: str, **done: Any) -> list[Event]:
        """A call's arguments in pieces (`<prefix>.delta`), then whole (`<prefix>.done`)."""
        item_id = self.output[index]["id"]
        events = [
            self._event(
                f"{prefix}.delta",
                item_id=item_id,
                output_index=index,
                delta=text[i : i + ARGUMENT_PIECE_CHARS],
            )
            for i in range(0, len(text), ARGUMENT_PIECE_CHARS)
        ]
        events.append(
            self._event(f"{prefix}.done", item_id=item_id, output_index=index, **done, arguments=text)
        )
        return events

    def close_open(self, incomplete: bool = False) -> list[Event]:
        """End the message or reasoning being written, with its closing events."""
        if self._open is None:
            return []
        kind, index = self._open
        self._open = None
        item = self.output[index]
        events: list[Event] = []
        if kind == "reasoning":
            part = item["summary"][0]
            common = {"item_id": item["id"], "output_index": index, "summary_index": 0}
            events.append(self._event("response.reasoning_summary_text.done", **common, text=part["text"]))
            events.append(
                self._event("response.reasoning_summary_part.done", **common, part=copy.deepcopy(part))
            )
            events.append(self.done(index))
            return events
        part = item["content"][0]
        common = {"item_id": item["id"], "output_index": index, "content_index": 0}
        for citation in self.citations:
            annotation = {**citation, "valid": True}
            if annotation["type"] == "url_citation":
                annotation.update(start_index=0, end_index=len(part["text"]))
            part["annotations"].append(annotation)
            events.append(
                self._event(
                    "response.output_text.annotation.added",
                    **common,
                    annotation_index=len(part["annotations"]) - 1,
                    annotation=copy.deepcopy(annotation),
                )
            )
        self.citations = []
        events.append(self._event("response.output_text.done", **common, text=part["text"], logprobs=[]))
        events.append(self._event("response.content_part.done", **common, part=copy.deepcopy(part)))
        events.append(self.done(index, "incomplete" if incomplete else "completed"))
        return events

    def _ensure_open(self, kind: str) -> list[Event]:
        if self._open is not None and self._open[0] == kind:
            return []
        events = self.close_open()
        if kind == "message":
            item: dict[str, Any] = {
                "id": new_id(),
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
                "valid": True,
            }
            index, added = self.add(item)
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": [], "valid": True}
            item["content"].append(part)
            events += [
                added,
                self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=copy.deepcopy(part),
                ),
            ]
        else:
            item = {
                "id": new_id(),
                "type": "reasoning",
                "summary": [],
                "status": "in_progress",
                "valid": True,
            }
            index, added = self.add(item)
            part = {"type": "summary_text", "text": "", "valid": True}
            item["summary"].append(part)
            events += [
                added,
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    part=copy.deepcopy(part),
                ),
            ]
        self._open = (kind, index)
        return events

    def _open_index(self) -> int:
        assert self._open is not None
        return self._open[1]


def output_text(output: list[dict[str, Any]]) -> str:
    """The answer's text: every output_text part of every message, as the openai client joins it."""
    return "".join(
        part.get("text", "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content") or []
        if part.get("type") == "output_text"
    )


def usage_of(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "valid": True},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens, "valid": True},
        "total_tokens": input_tokens + output_tokens,
        "valid": True,
    }
