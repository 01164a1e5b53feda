"""An assistant's knowledge copied to a vector store, for the Responses API's `file_search`.

The local index stays the truth: a push first brings it up to date with the disk
(as `kb reindex` does), so the cloud gets the same files under the same skip
rules. Then only files whose bytes changed (by SHA-256) are uploaded
(`files.create(purpose="assistants")`, attached with `vector_stores.files.create`);
the copies they replace, and files gone from the index, are deleted there. The
store's indexing is polled until it is over. Every step is recorded as it lands,
so an interrupted push resumes where it stopped.

It goes through the official `openai` package, as Yandex documents: the API's
base URL is the local server's HTTP API or the cloud's `responses_endpoint`,
the folder goes in `OpenAI-Project`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from yachat.core.errors import UserFacingError
from yachat.core.knowledge.indexer import KnowledgeError, reindex
from yachat.core.responses_client import build_responses_client, responses_base_url
from yachat.store import Assistant
from yachat.store.cloud_copies import CloudCopy

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from yachat.core.chat import ChatCore

ProgressSink = Callable[[int, int, str], None]  # done, total, the current path ("" between files)

POLL_S = 0.5
INDEXING_WAIT_S = 1800.0  # after this a push stops waiting; `kb list` shows the end
UPLOAD_TIMEOUT_S = 600.0  # a 32 MB file over a slow link


@dataclass
class PushReport:
    vector_store_id: str
    new_store: bool
    uploaded: int = 0
    uploaded_bytes: int = 0
    removed: int = 0
    unchanged: int = 0
    status: str = ""  # the store's, when the push stopped waiting: completed | in_progress | ...
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, the cloud's reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was not uploaded)
    left_elsewhere: str = ""  # an older copy in another folder or endpoint, left there


@dataclass(frozen=True)
class CloudState:
    """A cloud copy as `kb list` shows it: the record, and what the store says now."""

    copy: CloudCopy
    status: str  # the store's status; "gone" (deleted or expired there); "elsewhere"; "unreachable"
    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    changed_locally: int = 0  # files whose bytes differ from (or are missing in) the copy
    reason: str = ""  # why the state is unknown


async def push(
    core: ChatCore,
    assistant: Assistant,
    on_upload: ProgressSink | None = None,
    on_indexing: ProgressSink | None = None,
    wait_s: float = INDEXING_WAIT_S,
) -> PushReport:
    store = core.store
    if not store.knowledge_roots(assistant.id) and store.cloud_copy(assistant.id) is None:
        raise KnowledgeError("there is no knowledge to push; add some with `yachat kb add PATH`.")
    await anyio.to_thread.run_sync(lambda: reindex(store, assistant.id))
    local = local_files(core, assistant.id)
    client, endpoint, folder = await open_client(core)
    async with client:
        copy, left_elsewhere = await _live_copy(client, core, assistant.id, endpoint, folder)
        if copy is None:
            created = await _call(
                endpoint,
                client.vector_stores.create(
                    name=f"yachat · {assistant.name}"[:256], metadata={"yachat_assistant": str(assistant.id)}
                ),
            )
            store.start_cloud_copy(assistant.id, created.id, endpoint, folder)
            copy = store.cloud_copy(assistant.id)
            assert copy is not None
        report = PushReport(copy.vector_store_id, new_store=copy.pushed_at is None and not copy.files)
        report.left_elsewhere = left_elsewhere
        known = {f.path: f for f in copy.files}
        changed = [p for p, sha in local.items() if p not in known or known[p].sha256 != sha]
        report.unchanged = len(local) - len(changed)
        for done, path in enumerate(changed):
            if on_upload is not None:
                on_upload(done, len(changed), path)
            await _upload(client, core, assistant.id, copy.vector_store_id, endpoint, path, known, report)
        if on_upload is not None and changed:
            on_upload(len(changed), len(changed), "")
        for path in sorted(set(known) - set(local)):
            await _delete_remote(client, copy.vector_store_id, known[path].file_id)
            store.forget_cloud_file(assistant.id, path)
            report.removed += 1
        state = await _wait_indexed(client, endpoint, copy.vector_store_id, on_indexing, wait_s)
        report.status = state.status
        report.failed = await _failed_files(client, core, assistant.id, endpoint, copy.vector_store_id)
        store.mark_cloud_pushed(assistant.id)
    return report


def local_files(core: ChatCore, assistant_id: int) -> dict[str, str]:
    """path -> SHA-256 of every file the local index holds (what skip rules let in)."""
    out: dict[str, str] = {}
    for root in core.store.knowledge_roots(assistant_id):
        for f in core.store.knowledge_files(root.id):
            if f.skipped is None and f.sha256:
                out[f.path] = f.sha256
    return out


async def _live_copy(
    client: AsyncOpenAI, core: ChatCore, assistant_id: int, endpoint: str, folder: str
) -> tuple[CloudCopy | None, str]:
    """The recorded copy if it is still there at this endpoint and folder; else None, and where
    an unreachable older copy was left (it cannot be cleaned from here)."""
    import openai

    copy = core.store.cloud_copy(assistant_id)
    if copy is None:
        return None, ""
    if not copy.lives_at(endpoint, folder):
        return None, f"{copy.vector_store_id} in folder {copy.folder_id} at {copy.endpoint}"
    try:
        await _call(endpoint, client.vector_stores.retrieve(copy.vector_store_id))
    except UserFacingError as exc:
        if not isinstance(exc.__cause__, openai.NotFoundError):
            raise
        return None, ""  # deleted or expired there: a new store takes its place
    return copy, ""


async def _upload(
    client: AsyncOpenAI,
    core: ChatCore,
    assistant_id: int,
    store_id: str,
    endpoint: str,
    path: str,
    known: dict[str, Any],
    report: PushReport,
) -> None:
    try:
        data = await anyio.to_thread.run_sync(_read, path)
    except OSError as exc:
        report.skipped.append((path, (exc.strerror or str(exc)).lower()))
        return
    uploaded = await _call(
        endpoint,
        client.files.create(
            file=(os.path.basename(path), data), purpose="assistants", timeout=UPLOAD_TIMEOUT_S
        ),
    )
    await _call(endpoint, client.vector_stores.files.create(vector_store_id=store_id, file_id=uploaded.id))
    core.store.record_cloud_file(assistant_id, path, hashlib.sha256(data).hexdigest(), uploaded.id, len(data))
    old = known.get(path)
    if old is not None:
        await _delete_remote(client, store_id, old.file_id)
    report.uploaded += 1
    report.uploaded_bytes += len(data)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


async def _delete_remote(client: AsyncOpenAI, store_id: str, file_id: str) -> None:
    """Detach and delete a file there; one already gone is fine (it is what was wanted)."""
    import openai

    with contextlib.suppress(openai.NotFoundError):
        await client.vector_stores.files.delete(file_id, vector_store_id=store_id)
    with contextlib.suppress(openai.NotFoundError):
        await client.files.delete(file_id)


async def _wait_indexed(
    client: AsyncOpenAI, endpoint: str, store_id: str, on_indexing: ProgressSink | None, wait_s: float
) -> Any:
    deadline = time.monotonic() + wait_s
    while True:
        state = await _call(endpoint, client.vector_stores.retrieve(store_id))
        counts = state.file_counts
        if on_indexing is not None:
            on_indexing(counts.completed + counts.failed + counts.cancelled, counts.total, "")
        if state.status != "in_progress" or time.monotonic() >= deadline:
            return state
        await anyio.sleep(POLL_S)


async def _failed_files(
    client: AsyncOpenAI, core: ChatCore, assistant_id: int, endpoint: str, store_id: str
) -> list[tuple[str, str]]:
    copy = core.store.cloud_copy(assistant_id)
    failed = []
    async for entry in await _call(
        endpoint, client.vector_stores.files.list(store_id, filter="failed", limit=100)
    ):
        path = (copy.path_of(entry.id) if copy else None) or entry.id
        reason = entry.last_error.message if entry.last_error else "failed"
        failed.append((path, reason))
    return failed


async def cloud_state(core: ChatCore, copy: CloudCopy) -> CloudState:
    """What the copy's store says now; never raises for a network or API error (it is shown)."""
    local = local_files(core, copy.assistant_id)
    cloud = {f.path: f.sha256 for f in copy.files}
    changed = sum(1 for p in set(local) | set(cloud) if local.get(p) != cloud.get(p))
    try:
        client, endpoint, folder = await open_client(core)
    except UserFacingError as exc:
        return CloudState(copy, "unreachable", changed_locally=changed, reason=exc.message)
    if not copy.lives_at(endpoint, folder):
        why = f"it is in folder {copy.folder_id} at {copy.endpoint}, not this backend's"
        return CloudState(copy, "elsewhere", changed_locally=changed, reason=why)
    import openai

    async with client:
        try:
            state = await _call(endpoint, client.vector_stores.retrieve(copy.vector_store_id))
        except UserFacingError as exc:
            if isinstance(exc.__cause__, openai.NotFoundError):
                return CloudState(copy, "gone", changed_locally=changed, reason="deleted or expired there")
            return CloudState(copy, "unreachable", changed_locally=changed, reason=exc.message)
    counts = state.file_counts
    return CloudState(
        copy, state.status, counts.completed, counts.failed, counts.in_progress, changed_locally=changed
    )


async def remove_from_cloud(core: ChatCore, assistant_id: int, under: str | None = None) -> int:
    """Delete the copy's files there (those under the path `under`, or all and the store itself);
    how many files were deleted. The record follows what was deleted."""
    import openai

    copy = core.store.cloud_copy(assistant_id)
    if copy is None:
        return 0
    files = [f for f in copy.files if under is None or _inside(f.path, under)]
    client, endpoint, folder = await open_client(core)
    if not copy.lives_at(endpoint, folder):
        raise UserFacingError(
            f"The cloud copy is in folder {copy.folder_id} at {copy.endpoint}; "
            "use that backend (and folder) to remove it there."
        )
    async with client:
        for f in files:
            await _delete_remote(client, copy.vector_store_id, f.file_id)
            core.store.forget_cloud_file(assistant_id, f.path)
        if under is None:
            with contextlib.suppress(openai.NotFoundError):
                await client.vector_stores.delete(copy.vector_store_id)
            core.store.forget_cloud_copy(assistant_id)
    return len(files)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


async def open_client(core: ChatCore) -> tuple[AsyncOpenAI, str, str]:
    """An `openai.AsyncOpenAI` on the backend's OpenAI-compatible API, with yachat's credentials
    (the same builder the responses transport uses); and the base URL and folder it talks to.

    A client of its own, not the session's shared one: the caller closes it when done."""
    backend = await core.connect()
    endpoint = responses_base_url(core.settings, backend)
    return build_responses_client(core.session.sdk, backend, core.settings), endpoint, backend.folder_id


async def _call(endpoint: str, request: Any) -> Any:
    """Await an `openai` request; its failure as one sentence (the exception kept as the cause)."""
    import openai

    try:
        return await request
    except openai.APIStatusError as exc:
        raise UserFacingError(f"{endpoint} refused: {_words(exc)}") from exc
    except openai.APIConnectionError as exc:
        raise UserFacingError(
            f"Could not reach {endpoint} ({exc.__cause__ or exc}); check the network and retry."
        ) from exc


def _words(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("message") or exc.message).strip().rstrip(".")
    return f"{message} (HTTP {exc.status_code})."
