"""A thread as a Markdown or JSON document. Exports are files people open in
terminals and editors, so Markdown is stripped of control sequences; JSON keeps
the exact text (its encoder escapes every control character)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from yachat.core.knowledge.sources import source_line
from yachat.store import Store
from yachat.store.knowledge import Passage
from yachat.store.models import Message, Part, PartKind, Run
from yachat.text import one_line, strip_controls


def status_label(message: Message, run: Run | None) -> str:
    """What to say after who wrote a message: its status if not complete, or that
    it was cut off at the length limit; empty for a whole answer."""
    if message.status != "complete":
        return str(message.status)
    if run is not None and run.truncated:
        return "cut off"
    return ""


EXTENSIONS = {"md": ".md", "json": ".json"}


def export_target(name: str, fmt: str | None = None) -> tuple[Path, str]:
    """Where an export goes, and as what: the format asked for, else the one the
    name's extension says (Markdown unless `.json`). A name without that format's
    extension gets it, so the file opens as what it is (`notes` -> `notes.md`)."""
    path = Path(name).expanduser()
    suffix = path.suffix.lower()
    if fmt is None:
        fmt = "json" if suffix == ".json" else "md"
    extension = EXTENSIONS[fmt]
    if suffix != extension:
        path = path.with_name(path.name + extension)
    return path, fmt


def export_thread(store: Store, thread_id: int, fmt: str) -> str:
    thread = store.get_thread(thread_id)
    if thread is None:
        raise LookupError(f"thread {thread_id} does not exist")
    messages = store.with_parts(store.list_messages(thread_id))
    runs = {run.id: run for run in store.list_runs(thread_id)}
    sources = store.thread_sources(thread_id)
    if fmt == "json":
        return json.dumps(
            {
                "id": thread.id,
                "name": thread.name,
                "created_at": _iso(thread.created_at),
                "updated_at": _iso(thread.updated_at),
                "messages": [
                    {
                        "id": m.id,
                        "role": m.role,
                        "text": m.text,
                        **({"reasoning": m.reasoning} if m.reasoning else {}),
                        **({"parts": [_part_fields(p) for p in m.parts]} if m.parts else {}),
                        "status": str(m.status),
                        "created_at": _iso(m.created_at),
                        **_run_fields(runs.get(m.run_id) if m.run_id else None),
                        **_source_fields(sources.get(m.run_id, []) if m.run_id else []),
                    }
                    for m in messages
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
    if fmt != "md":
        raise ValueError(f"unknown export format {fmt!r} (use md or json)")
    lines = [f"# {one_line(thread.name, 200)}", ""]
    for m in messages:
        who = "You" if m.role == "user" else "Assistant"
        label = status_label(m, runs.get(m.run_id) if m.run_id else None)
        state = f" ({label})" if label else ""
        lines += [f"## {who}{state} — {_iso(m.created_at)}", ""]
        if m.reasoning:
            # A quote, so a Markdown reader shows it apart from (and above) the answer.
            thought = strip_controls(m.reasoning).splitlines() or [""]
            lines += ["> **Thinking**", ">", *(f"> {line}".rstrip() for line in thought), ""]
        if m.parts:
            lines += _md_calls(m)
        lines += [strip_controls(m.text), ""]
        used = sources.get(m.run_id, []) if m.run_id else []
        if used:
            # Under the answer, as the TUI lists them; each passage's text is in the JSON export.
            lines += ["**Sources**", "", *(f"- {source_line(p)}" for p in used), ""]
    return "\n".join(lines)


def tool_call_lines(message: Message) -> list[tuple[Part, Part | None]]:
    """An answer's calls, each with its result (None: it never ran)."""
    results = {p.call_id: p for p in message.parts if p.kind is PartKind.TOOL_RESULT}
    return [(p, results.get(p.call_id)) for p in message.parts if p.kind is PartKind.TOOL_CALL]


def _md_calls(message: Message) -> list[str]:
    """A block per call: the tool, how it ended, the arguments and the result, fenced
    (a fence longer than any backtick run inside, so no output can close it)."""
    lines: list[str] = []
    for call, result in tool_call_lines(message):
        name = f"{call.server}/{call.tool}" if call.server else str(call.tool)
        took = f", {result.duration_s:.1f} s" if result is not None and result.duration_s is not None else ""
        lines += [f"**Tool call** `{strip_controls(name)}` — {call.status}{took}", ""]
        lines += _fenced("json", _pretty(call.arguments or "{}"))
        if result is not None:
            note = " (error)" if result.is_error else ""
            cut = f", cut: ~{result.truncated_tokens:,} tokens left out" if result.truncated_tokens else ""
            lines += [f"Result{note}{cut}:", ""]
            lines += _fenced("", result.text)
    for part in message.parts:
        if part.kind is PartKind.NOTICE:
            lines += [f"> {strip_controls(part.text)}", ""]
    return lines


def _fenced(lang: str, text: str) -> list[str]:
    text = strip_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", text, fence, ""]


def _pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def _part_fields(part: Part) -> dict[str, object]:
    fields: dict[str, object] = {"kind": str(part.kind)}
    if part.text or part.kind in (PartKind.TEXT, PartKind.TOOL_RESULT):
        fields["text"] = part.text
    for name in ("call_id", "tool", "server", "arguments", "duration_s"):
        value = getattr(part, name)
        if value is not None:
            fields[name] = value
    if part.status is not None:
        fields["status"] = str(part.status)
    if part.kind is PartKind.TOOL_RESULT:
        fields["is_error"] = part.is_error
        fields["truncated_tokens"] = part.truncated_tokens
    return fields


def _source_fields(used: list[Passage]) -> dict[str, object]:
    if not used:
        return {}
    return {
        "sources": [
            {
                "number": p.number,
                "path": p.path,
                "kind": p.kind,
                "heading": p.heading,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "where": p.where,
                "text": p.text,
            }
            for p in used
        ]
    }


def _run_fields(run: object | None) -> dict[str, object]:
    if run is None:
        return {}
    return {
        "model": getattr(run, "model_uri", None),
        "transport": getattr(run, "transport", None),
        "model_version": getattr(run, "model_version", None),
        "usage": {
            "input_tokens": getattr(run, "input_tokens", None),
            "completion_tokens": getattr(run, "completion_tokens", None),
            "total_tokens": getattr(run, "total_tokens", None),
            "reasoning_tokens": getattr(run, "reasoning_tokens", None),
        },
        "error": getattr(run, "error", None),
        "answered_by": getattr(run, "answered_by", None),
        "finish_reason": getattr(run, "finish_reason", None),
        "prompt": {
            "tokens": getattr(run, "prompt_tokens", None),
            "budget": getattr(run, "prompt_budget", None),
            "omitted_messages": getattr(run, "omitted_messages", None),
        },
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
