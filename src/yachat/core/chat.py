"""The chat core: assistants, threads and runs, streamed through the SDK.

Front ends (TUI, CLI) call this and render what it reports; none of them
touches the SDK or SQL. The core does not know which backend it talks to.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import anyio

from yachat.core.backend import Backend, StatusSink, resolve_backend
from yachat.core.errors import UserFacingError
from yachat.core.export import export_thread
from yachat.core.knowledge.prompting import PASSAGES_AT_MOST, RECENT_TURNS
from yachat.core.model_catalog import (
    UNKNOWN_CONTEXT_TOKENS,
    ModelListing,
    context_tokens,
    listing,
    reasoning_mode_for,
    transport_for,
)
from yachat.core.prompt import (
    SKIPPED_STATUSES,
    FittedPrompt,
    MessageCounts,
    PromptMessage,
    build_prompt,
    estimate_tokens,
    history_of,
    prompt_budget,
)
from yachat.core.run_stream import RunContext, RunStreamer
from yachat.core.sdk import build_sdk, load_sdk, split_model
from yachat.core.store_writes import write, write_soon
from yachat.core.transport import Transport, model_object, stream
from yachat.core.updates import PromptInfo, RunUpdate, UpdateKind, UpdateSink
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.knowledge import Passage
from yachat.store.models import Assistant, Message, MessageStatus, Run, RunStatus, Thread
from yachat.text import one_line

if TYPE_CHECKING:  # numpy's import is ~60 ms of start-up: knowledge loads it when used
    from yachat.core.knowledge.embeddings import Embedder, EmbedProgress
    from yachat.core.knowledge.hybrid import VectorIndex

log = logging.getLogger(__name__)

NEW_THREAD_NAME = "New chat"
# A prompt reads the thread this many messages at a time, newest first.
PROMPT_PAGE = 200
# Fewer tokens than characters / this, a message never has (a floor, to stop reading).
CHARS_PER_TOKEN_AT_MOST = 16
# How long a finished answer waits for the count of its prompt, made while it streamed.
COUNT_GRACE_S = 10.0
THREAD_NAME_CHARS = 60
# Passages an answer embeds before it retrieves, at most (the local model takes ~0.3 s a
# passage); more wait for `yachat kb reindex` or the knowledge screen, which embed with progress.
EMBED_INLINE_AT_MOST = 16
EMBED_BATCH = 64


class ChatCore:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.backend: Backend | None = None
        self._sdk: Any = None
        self._sdk_loop: asyncio.AbstractEventLoop | None = None
        self._connect_lock: anyio.Lock | None = None
        self._counts: dict[str, MessageCounts] = {}  # per model: tokens of each message alone
        self._embedder: Embedder | None = None
        self._embedder_sdk: Any = None  # the SDK `_embedder` was probed on
        self._null_vectors: dict[str, Any] = {}  # per embedder: the null questions' vectors
        self._vector_indexes: dict[tuple[int, str], VectorIndex | None] = {}
        self._missing_vectors: dict[tuple[int, str], tuple[Any, int]] = {}

    @classmethod
    def open_store(cls, settings: Settings) -> ChatCore:
        """Open the store, settle what dead processes left: interrupted runs, expired threads."""
        store = Store.open(settings.store_path)
        interrupted = store.settle_dead_runs()
        if interrupted:
            log.info("marked %d runs interrupted", interrupted)
        store.purge_expired()
        return cls(settings, store)

    # -- backend -----------------------------------------------------------

    async def connect(self, on_status: StatusSink | None = None) -> Backend:
        loop = asyncio.get_running_loop()
        if self._sdk_loop is not loop:
            # gRPC channels belong to the loop that made them: a new loop (a
            # CLI that runs several, a test) gets a new SDK on the same backend.
            self._sdk_loop, self._sdk, self._connect_lock = loop, None, anyio.Lock()
        assert self._connect_lock is not None
        async with self._connect_lock:
            if self._sdk is None:
                # Heavy imports (~0.3 s), off the loop: the backends' auth is part of them.
                await anyio.to_thread.run_sync(load_sdk)
            if self.backend is None:
                self.backend = await resolve_backend(self.settings, on_status)
            if self._sdk is None:
                backend = self.backend
                self._sdk = build_sdk(
                    folder_id=backend.folder_id,
                    auth=backend.auth,
                    endpoint=backend.endpoint,
                    verify=backend.verify,
                    enable_server_data_logging=self.settings.enable_server_data_logging,
                    still_there=backend.still_there if backend.kind == "local" else None,
                    connect_timeout_s=self.settings.connect_timeout_s,
                    http_url=backend.http_url,
                )
            return self.backend

    async def _disconnect(self) -> None:
        backend, self.backend, self._sdk = self.backend, None, None
        if backend is not None:
            await anyio.to_thread.run_sync(backend.stop)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._disconnect()
        self.store.close()

    # -- threads -----------------------------------------------------------

    def new_thread(self, name: str | None = None, assistant_id: int | None = None) -> Thread:
        assistant = self._assistant(assistant_id)
        return self.store.create_thread(name or NEW_THREAD_NAME, assistant.id)

    def fork_for_edit(self, thread_id: int, message_id: int) -> Thread:
        """A new thread with the messages before `message_id`; the original stays."""
        thread = self._thread(thread_id)
        return self.store.fork_thread(thread.id, message_id, name=f"{thread.name} (edited)")

    def export_thread(self, thread_id: int, fmt: str = "md") -> str:
        return export_thread(self.store, thread_id, fmt)

    def assistant_for(self, thread_id: int | None) -> Assistant:
        thread = self.store.get_thread(thread_id) if thread_id is not None else None
        return self._assistant(thread.assistant_id if thread else None)

    def model_label(self, thread_id: int | None = None) -> str:
        return self._model_of(self.assistant_for(thread_id))

    def context_tokens(self, assistant: Assistant) -> int:
        """The answering model's context: the local server's, or the catalogue's for the cloud."""
        backend = self.backend
        if backend is not None and backend.kind == "local":
            return backend.context_tokens or UNKNOWN_CONTEXT_TOKENS
        if backend is not None and backend.context_tokens:
            return backend.context_tokens
        return context_tokens(self._model_of(assistant))

    def _model_of(self, assistant: Assistant) -> str:
        # A model named on the command line or in the environment wins for this session.
        if "model" in self.settings.sources:
            return self.settings.model
        return assistant.model

    # -- runs --------------------------------------------------------------

    async def send(self, thread_id: int, text: str, on_update: UpdateSink) -> RunUpdate:
        if not text.strip():
            raise UserFacingError("The message is empty; type something to send.")
        thread = self._thread(thread_id)
        return await self._run(thread, on_update, question=text)

    async def retry(self, thread_id: int, on_update: UpdateSink) -> RunUpdate:
        """Run the last user message again, replacing an answer that did not complete."""
        thread = self._thread(thread_id)
        last = self.store.last_message(thread.id)
        if last is None:
            raise UserFacingError("This thread has no message to retry.")
        if last.role == "assistant":
            if last.status == MessageStatus.COMPLETE:
                raise UserFacingError("The last answer is complete; use Regenerate to replace it.")
            await write(self.store.delete_message, last.id)
        return await self._run(thread, on_update)

    async def regenerate(self, thread_id: int, on_update: UpdateSink) -> RunUpdate:
        """Replace the last answer with a new one."""
        thread = self._thread(thread_id)
        last = self.store.last_message(thread.id)
        if last is None:
            raise UserFacingError("This thread has no message to answer.")
        if last.role == "assistant":
            await write(self.store.delete_message, last.id)
        return await self._run(thread, on_update)

    async def _run(self, thread: Thread, on_update: UpdateSink, question: str | None = None) -> RunUpdate:
        assistant = self._assistant(thread.assistant_id)
        # Store writes run off the loop (store_writes): another process may hold the lock.
        # The rows a run starts with are written in one trip to the writer thread.
        user, run, answer = await write(self._begin_run, thread, assistant, question)
        user_message_id = user.id if user is not None else None
        streamer = RunStreamer(
            RunContext(
                store=self.store,
                thread_id=thread.id,
                run_id=run.id,
                message_id=answer.id,
                on_update=on_update,
                idle_timeout_s=self.settings.stream_idle_timeout_s,
                backend_kind=self.backend.kind if self.backend else "cloud",
            )
        )
        streamer.emit(UpdateKind.STARTED, user_message_id=user_message_id)
        try:
            backend = await self.connect(on_status=streamer.notice)
            streamer.ctx.backend_kind = backend.kind
            if backend.kind == "local":
                streamer.ctx.answered_by = backend.model_name
            fitted = await self._fit_prompt(assistant, thread.id, answer.id)
            # Queued, not waited for: the request does not depend on these records, and the
            # writes after them (the answer's) land in order and report a failing store.
            write_soon(
                self.store.record_prompt,
                run.id,
                prompt_tokens=fitted.tokens,
                prompt_budget=fitted.budget,
                omitted_messages=fitted.omitted,
                first_sent_message_id=fitted.first_sent_id,
            )
            streamer.emit(
                UpdateKind.PROMPT,
                prompt=PromptInfo(fitted.tokens, fitted.budget, fitted.omitted, fitted.first_sent_id),
            )
            if fitted.passages:
                write_soon(self.store.record_sources, run.id, fitted.passages)
                streamer.emit(UpdateKind.SOURCES, sources=fitted.passages)
            transport = self.transport_of(assistant)
            results = stream(
                self._completions(assistant, transport),
                transport,
                fitted.messages,
                timeout=self.settings.request_timeout_s,
            )
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await streamer.consume_cancelled()
            raise
        except Exception as exc:
            final = await streamer.fail(exc)
        else:
            if fitted.tokens is None:
                final = await self._consume_counting(streamer, results, assistant, run.id, fitted)
            else:
                final = await streamer.consume(results)
        if final.error and self.backend is not None and self.backend.kind == "local":
            await self._forget_dead_local_server()
        return final

    def _begin_run(
        self, thread: Thread, assistant: Assistant, question: str | None
    ) -> tuple[Message | None, Run, Message]:
        """The question (if any), the run and its empty answer, stored (on the writer thread)."""
        store = self.store
        user = None
        if question is not None:
            user = store.add_message(thread.id, "user", question)
            if thread.name == NEW_THREAD_NAME:
                store.rename_thread(thread.id, one_line(question, THREAD_NAME_CHARS) or NEW_THREAD_NAME)
        run = store.create_run(
            thread.id, assistant.id, self._model_of(assistant), transport=self.transport_of(assistant)
        )
        answer = store.add_message(thread.id, "assistant", "", status=MessageStatus.STREAMING, run_id=run.id)
        return user, run, answer

    async def _forget_dead_local_server(self) -> None:
        """After a local failure, reconnect on the next send if the server is gone."""
        backend = self.backend
        if backend is not None and not await backend.still_there():
            log.info("local server at %s is gone; will start another", backend.endpoint)
            await self._disconnect()

    async def list_models(self) -> list[ModelListing]:
        """The text models the backend offers: the folder's, from the chat API's model list
        (the local server lists its own model there)."""
        backend = await self.connect()
        models = await self._sdk.chat.completions.list(timeout=self.settings.request_timeout_s)
        local_context = backend.context_tokens if backend.kind == "local" else None
        return sorted((listing(m.uri, local_context) for m in models), key=lambda m: m.name)

    def transport_of(self, assistant: Assistant) -> Transport:
        return transport_for(self._model_of(assistant), assistant.transport)

    def _completions(self, assistant: Assistant, transport: Transport) -> Any:
        name, version = split_model(self._model_of(assistant))
        return model_object(
            self._sdk,
            transport,
            name,
            version,
            temperature=assistant.temperature,
            max_tokens=assistant.max_tokens,
            reasoning_mode=reasoning_mode_for(transport, assistant.reasoning_mode),
        )

    async def _fit_prompt(self, assistant: Assistant, thread_id: int, answer_id: int) -> FittedPrompt:
        """The thread fitted to the prompt budget, each message counted once per model."""
        counts = self._message_counts(assistant)
        budget = prompt_budget(assistant, self.context_tokens(assistant))
        history, unread = self._prompt_history(assistant, thread_id, answer_id, counts, budget)
        passages = await self._retrieve(assistant, history)
        try:
            fitted = await build_prompt(
                assistant, history, counts, budget, passages=passages, count_later=True
            )
            if unread:
                fitted = dataclasses.replace(fitted, omitted=fitted.omitted + unread)
        finally:
            new, counts.new = counts.new, {}
            if new:  # most sends count nothing new: no round trip to the writer thread then
                await write(self.store.set_token_counts, counts.model, new)
        log.info(
            "prompt: %s tokens of %s, %d messages left out, %d tokenize calls",
            fitted.tokens,
            fitted.budget,
            fitted.omitted,
            fitted.tokenize_calls,
        )
        return fitted

    async def _consume_counting(
        self, streamer: RunStreamer, results: Any, assistant: Assistant, run_id: int, fitted: FittedPrompt
    ) -> RunUpdate:
        """Stream the answer to a prompt that was sure to fit its budget uncounted, and
        count it meanwhile: the run still records what the prompt held, and the answer
        did not wait for the tokenizer's round trip (measured: 15-40 ms before the
        first delta of a fresh session's first answer)."""

        async def count() -> None:
            tokens = None
            with anyio.move_on_after(self.settings.request_timeout_s):
                try:
                    tokens = await self._message_counts(assistant).whole(fitted.messages)
                except Exception as exc:  # the count is a record: the answer does not depend on it
                    log.info("could not count the prompt of run %s: %r", run_id, exc)
            if tokens is None:
                return
            if fitted.budget is not None and tokens > fitted.budget:
                log.warning("run %s: a prompt of %s tokens went over its budget", run_id, tokens)
            await write(
                self.store.record_prompt,
                run_id,
                prompt_tokens=tokens,
                prompt_budget=fitted.budget,
                omitted_messages=fitted.omitted,
                first_sent_message_id=fitted.first_sent_id,
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(count)
            final = await streamer.consume(results)
            # A server that answered tokenizes promptly; one that did not would only be waited
            # for a second time (an unreachable endpoint's timeout, twice).
            grace = COUNT_GRACE_S if final.status is RunStatus.COMPLETED else 0.0
            tg.cancel_scope.deadline = anyio.current_time() + grace
        return final

    async def _retrieve(self, assistant: Assistant, history: list[Message]) -> list[Passage]:
        """Passages of the assistant's knowledge for the question and the turns before it:
        by their words, and by their meaning too when the backend has text embeddings."""
        if not self.store.has_knowledge(assistant.id):
            return []
        turns = [m.text for m in reversed(history) if m.role in ("user", "assistant") and m.text.strip()]
        texts = turns[: 1 + RECENT_TURNS]  # the question first: its words lead the query
        if not texts:
            return []
        from yachat.core.knowledge.hybrid import CANDIDATES, fuse

        lexical: list[Passage] = []
        lead: Any = None

        async def by_words() -> None:
            nonlocal lexical
            lexical = await anyio.to_thread.run_sync(self.store.retrieve, assistant.id, texts, CANDIDATES)

        async def by_meaning() -> None:
            nonlocal lead
            try:
                lead = await self._dense_leads(assistant.id, texts)
            except Exception as exc:  # an answer by words beats no answer
                log.warning("retrieval by meaning failed, by words only: %s", exc)

        # Both at once: SQLite's search and the pass over the vectors each release the GIL.
        async with anyio.create_task_group() as tg:
            tg.start_soon(by_words)
            tg.start_soon(by_meaning)
        index = lead[0] if lead else None
        dense = index.pick(lead[1], [p.chunk_id for p in lexical]) if index else []
        if not dense:
            return lexical[:PASSAGES_AT_MOST]
        chosen = fuse([p.chunk_id for p in lexical], dense, limit=PASSAGES_AT_MOST)
        found = {p.chunk_id: p for p in lexical}
        more = [i for i in chosen if i not in found]
        found.update((p.chunk_id, p) for p in await anyio.to_thread.run_sync(self.store.passages, more))
        return [found[i] for i in chosen if i in found]

    async def _dense_leads(self, assistant_id: int, texts: list[str]) -> tuple[VectorIndex, Any] | None:
        embedder = await self.embedder()
        if embedder is None:
            return None
        stamp = await anyio.to_thread.run_sync(self._knowledge_stamp, assistant_id, embedder.key)
        missing = await self._count_missing(assistant_id, embedder.key, stamp)
        if 0 < missing <= EMBED_INLINE_AT_MOST:
            await self.embed_knowledge(assistant_id)
            stamp = await anyio.to_thread.run_sync(self._knowledge_stamp, assistant_id, embedder.key)
        elif missing:
            log.info("%d passages have no vector yet; `yachat kb reindex` embeds them", missing)
        index = await self._vector_index(assistant_id, embedder, stamp[1])
        if index is None:
            return None
        from yachat.core.knowledge.hybrid import meaning_query

        query = await embedder.query(meaning_query(texts))
        return index, await anyio.to_thread.run_sync(index.leads, query)

    def _knowledge_stamp(self, assistant_id: int, embedder: str) -> tuple[Any, Any]:
        """What changes with the assistant's passages, and with the embedder's vectors."""
        return self.store.files_stamp(assistant_id), self.store.vectors_stamp(embedder)

    async def _count_missing(self, assistant_id: int, embedder: str, stamp: tuple[Any, Any]) -> int:
        """Passages of the assistant without a vector, counted again only when the stamp
        moved: at 100,000 passages the count took 27 ms before every answer's request."""
        key = (assistant_id, embedder)
        cached = self._missing_vectors.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        missing = await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder, assistant_id)
        self._missing_vectors[key] = (stamp, missing)
        return missing

    async def embedder(self) -> Embedder | None:
        """The backend's text embeddings, or None when it has none (retrieval is by words)."""
        await self.connect()
        if self._embedder_sdk is not self._sdk:
            from yachat.core.knowledge.embeddings import probe

            backend = self.backend
            assert backend is not None
            self._embedder = await probe(self._sdk, backend.kind, self.settings.request_timeout_s)
            self._embedder_sdk = self._sdk
        return self._embedder

    async def vectors_missing(self) -> int:
        """Passages (of every assistant) that answers find by words only, as they have no
        vector from this backend's embeddings yet; 0 when it has no embeddings."""
        if not await anyio.to_thread.run_sync(self.store.knowledge_roots):
            return 0
        embedder = await self.embedder()
        if embedder is None:
            return 0
        return await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder.key, None)

    async def embed_knowledge(
        self,
        assistant_id: int | None = None,
        on_progress: EmbedProgress | None = None,
        should_stop: Any = None,
    ) -> int | None:
        """Give every passage (of one assistant, or all) a vector from the backend's
        embeddings; how many were embedded, or None when the backend has none."""
        embedder = await self.embedder()
        if embedder is None:
            return None
        total = await anyio.to_thread.run_sync(self.store.count_chunks_to_embed, embedder.key, assistant_id)
        done = 0
        if on_progress is not None and total:
            on_progress(0, total)
        while done < total and not (should_stop is not None and should_stop()):
            batch = await anyio.to_thread.run_sync(
                self.store.chunks_to_embed, embedder.key, assistant_id, EMBED_BATCH
            )
            if not batch:
                break
            vectors = await embedder.documents([text for _, text in batch])
            await write(
                self.store.save_vectors,
                embedder.key,
                [(i, v) for (i, _), v in zip(batch, vectors, strict=True)],
            )
            done += len(batch)
            if on_progress is not None:
                on_progress(min(done, total), total)
        return done

    async def _vector_index(self, assistant_id: int, embedder: Embedder, stamp: Any) -> VectorIndex | None:
        """The assistant's vectors as a matrix, read again only when they changed (`stamp`)."""
        key = (assistant_id, embedder.key)
        index = self._vector_indexes.get(key)
        if index is not None and index.stamp == stamp:
            return index
        from yachat.core.knowledge.hybrid import NULL_QUESTIONS, VectorIndex

        nulls = self._null_vectors.get(embedder.key)
        if nulls is None:
            nulls = self._null_vectors[embedder.key] = await embedder.queries(NULL_QUESTIONS)
        rows = await anyio.to_thread.run_sync(self.store.vectors, assistant_id, embedder.key)
        index = self._vector_indexes[key] = await anyio.to_thread.run_sync(
            VectorIndex.build, stamp, rows, nulls
        )
        return index

    def _prompt_history(
        self, assistant: Assistant, thread_id: int, answer_id: int, counts: MessageCounts, budget: int
    ) -> tuple[list[Message], int]:
        """The newest messages the prompt can hold, oldest first, and how many older
        history messages were left unread: a long thread is read a page at a time
        from the newest, until what was read surely overflows the budget (by the
        stored token counts, else a character count that undercounts tokens)."""
        self.store.settle_dead_runs(thread_id)
        keep = assistant.keep_last_messages or 0
        history: list[Message] = []
        floor = 0  # tokens the messages read hold at the least
        before: int | None = None
        while True:
            page = self.store.message_page(thread_id, PROMPT_PAGE, before)
            history[:0] = [m for m in page if m.id != answer_id]
            floor += sum(counts.known(m) or len(m.text) // CHARS_PER_TOKEN_AT_MOST for m in page)
            if len(page) < PROMPT_PAGE:
                return history, 0
            before = page[0].id
            if floor > budget or (keep and len(history_of(history)) > keep):
                skipped = tuple(str(s) for s in SKIPPED_STATUSES)
                return history, self.store.count_history(thread_id, before, skipped)

    def _message_counts(self, assistant: Assistant) -> MessageCounts:
        backend = self.backend
        if backend is not None and backend.kind == "local":
            # The local server's tokenizer is its model's, whatever name the request carries.
            key = f"local:{backend.model_name or backend.description}"
        else:
            key = self._model_of(assistant)
        counts = self._counts.get(key)
        if counts is None:
            local = backend is not None and backend.kind == "local"
            if local or transport_for(self._model_of(assistant)) is Transport.GRPC:

                async def count(messages: list[PromptMessage]) -> int:
                    # TokenizeCompletion is gRPC's; the chat API has no tokenizer.
                    return len(await self._completions(assistant, Transport.GRPC).tokenize(messages))

            else:
                count = estimate_tokens
            counts = self._counts[key] = MessageCounts(key, count)
        return counts

    # -- lookups -----------------------------------------------------------

    def _thread(self, thread_id: int) -> Thread:
        thread = self.store.get_thread(thread_id)
        if thread is None:
            raise UserFacingError("This thread no longer exists; pick another or start a new one.")
        return thread

    def _assistant(self, assistant_id: int | None) -> Assistant:
        if assistant_id is not None:
            assistant = self.store.get_assistant(assistant_id)
            if assistant is not None:
                return assistant
        return self.store.default_assistant()
