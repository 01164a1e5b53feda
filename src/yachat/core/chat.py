"""The chat core: assistants, threads and runs, streamed through the SDK.

Front ends (TUI, CLI) call this and render the events it reports; none of them
touches the SDK or SQL. The core does not know which backend it talks to. The
connection (`session`), retrieval, prompt fitting and the tool loop are modules
of their own; this one keeps the run: its rows, its rounds, its end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from yachat.core.backend import Backend, StatusSink
from yachat.core.errors import UserFacingError
from yachat.core.events import EventSink, PromptFitted, PromptInfo, RunFinished, RunStarted, SourcesFound
from yachat.core.export import export_thread
from yachat.core.model_catalog import ModelListing
from yachat.core.model_choice import ModelChoice, model_uri, resolve_model
from yachat.core.prompt import FittedPrompt, PromptMessage
from yachat.core.prompt_fitting import PromptFitter
from yachat.core.retrieval import Retrieval
from yachat.core.run_stream import RunContext, RunStreamer
from yachat.core.session import ModelSession
from yachat.core.store_writes import write, write_soon
from yachat.core.tools.builtin import KNOWLEDGE_SEARCH, KnowledgeSearch, Toolbox, assistant_allows
from yachat.core.tools.loop import RepeatWatch, ToolLimits, ToolPolicy, ToolRound
from yachat.core.tools.spec import ToolOutcome, ToolProvider, ToolSpec
from yachat.core.transport import Transport, model_object, stream
from yachat.settings import Settings
from yachat.store import Store
from yachat.store.models import Assistant, Message, MessageStatus, Run, Thread, ToolStatus
from yachat.text import one_line

if TYPE_CHECKING:
    from yachat.core.knowledge.embeddings import Embedder, EmbedProgress
    from yachat.core.responses_context import ResponsesAnswer

log = logging.getLogger(__name__)

NEW_THREAD_NAME = "New chat"
THREAD_NAME_CHARS = 60


class ChatCore:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.session = ModelSession(settings)
        self.retrieval = Retrieval(settings, store, self.session)
        self.fitter = PromptFitter(settings, store, self.session, self.retrieval)
        # Tools from outside the core (the MCP servers' hub), set by a front end.
        self.tool_providers: list[ToolProvider] = []
        self._told_no_tools: set[str] = set()

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

    @property
    def backend(self) -> Backend | None:
        return self.session.backend

    async def connect(self, on_status: StatusSink | None = None) -> Backend:
        return await self.session.connect(on_status)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.session.disconnect()
        self.store.close()

    async def list_models(self) -> list[ModelListing]:
        return await self.session.list_models()

    async def embedder(self) -> Embedder | None:
        return await self.retrieval.embedder()

    async def vectors_missing(self) -> int:
        return await self.retrieval.vectors_missing()

    async def embed_knowledge(
        self,
        assistant_id: int | None = None,
        on_progress: EmbedProgress | None = None,
        should_stop: Any = None,
    ) -> int | None:
        return await self.retrieval.embed_knowledge(assistant_id, on_progress, should_stop)

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

    def answering_model(self, thread_id: int | None = None) -> str:
        """The model that answers this thread's next message, as the user should read it:
        on the local backend the server's own model (whatever name the assistant asks
        for); elsewhere the model the assistant or the command line resolves to. Before
        the backend is known, the assistant's model."""
        choice = self.model_choice(self.assistant_for(thread_id))
        backend = self.session.backend
        served = backend.model_name or self.session.served_model if backend is not None else None
        if choice.local and served:
            return served
        return choice.name if "://" in choice.name else f"{choice.name}/{choice.version}"

    async def learn_served_model(self) -> None:
        """Ask a local server named by address which model it serves (one that yachat
        started, or found by its runtime file, said so already)."""
        await self.session.learn_served_model()

    def model_choice(self, assistant: Assistant) -> ModelChoice:
        """The model `assistant`'s runs talk to, as far as the backend is known now."""
        return resolve_model(self.settings, assistant, self.session.backend)

    def context_tokens(self, assistant: Assistant) -> int:
        """The answering model's context: the local server's, or the catalogue's for the cloud."""
        return self.model_choice(assistant).context_tokens

    def transport_of(self, assistant: Assistant) -> Transport:
        return self.model_choice(assistant).transport

    def toolbox(self, assistant: Assistant) -> Toolbox:
        """The tools `assistant` may offer: its pick of the MCP servers' and yachat's own."""
        providers = [*self.tool_providers, KnowledgeSearch(self.store, assistant.id)]
        return Toolbox(providers, assistant_allows(assistant.tools))

    def known_tools(self) -> list[ToolSpec]:
        """Every tool offered now, before any assistant's pick: for choosing one."""
        tools: list[ToolSpec] = [KNOWLEDGE_SEARCH]
        for provider in self.tool_providers:
            try:
                tools += provider.tools()
            except Exception:  # a hub mid-change: what it offers next time
                log.debug("listing tools failed", exc_info=True)
        return tools

    # -- runs --------------------------------------------------------------

    async def send(
        self, thread_id: int, text: str, on_event: EventSink, policy: ToolPolicy | None = None
    ) -> RunFinished:
        if not text.strip():
            raise UserFacingError("The message is empty; type something to send.")
        thread = self._thread(thread_id)
        return await self._run(thread, on_event, policy, question=text)

    async def retry(
        self, thread_id: int, on_event: EventSink, policy: ToolPolicy | None = None
    ) -> RunFinished:
        """Run the last user message again, replacing an answer that did not complete."""
        thread = self._thread(thread_id)
        last = self.store.last_message(thread.id)
        if last is None:
            raise UserFacingError("This thread has no message to retry.")
        if last.role == "assistant":
            if last.status == MessageStatus.COMPLETE:
                raise UserFacingError("The last answer is complete; use Regenerate to replace it.")
            await write(self.store.delete_message, last.id)
        return await self._run(thread, on_event, policy)

    async def regenerate(
        self, thread_id: int, on_event: EventSink, policy: ToolPolicy | None = None
    ) -> RunFinished:
        """Replace the last answer with a new one (its tool calls and results go with it)."""
        thread = self._thread(thread_id)
        last = self.store.last_message(thread.id)
        if last is None:
            raise UserFacingError("This thread has no message to answer.")
        if last.role == "assistant":
            await write(self.store.delete_message, last.id)
        return await self._run(thread, on_event, policy)

    async def _run(
        self, thread: Thread, on_event: EventSink, policy: ToolPolicy | None, question: str | None = None
    ) -> RunFinished:
        assistant = self._assistant(thread.assistant_id)
        # Store writes run off the loop (store_writes): another process may hold the lock.
        # The rows a run starts with are written in one trip to the writer thread.
        user, run, answer = await write(self._begin_run, thread, assistant, question)
        streamer = RunStreamer(
            RunContext(
                store=self.store,
                thread_id=thread.id,
                run_id=run.id,
                message_id=answer.id,
                on_event=on_event,
                idle_timeout_s=self.settings.stream_idle_timeout_s,
                backend_kind=self.backend.kind if self.backend else "cloud",
            )
        )
        streamer.emit(RunStarted(thread.id, run.id, answer.id, user_message_id=user.id if user else None))
        try:
            backend = await self.connect(on_status=streamer.notice)
            streamer.ctx.backend_kind = backend.kind
            if backend.kind == "local":
                streamer.ctx.answered_by = backend.model_name
            model = self.model_choice(assistant)
            fitted = await self.fitter.fit(assistant, model, thread.id, answer.id)
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
                PromptFitted(
                    thread.id,
                    run.id,
                    answer.id,
                    prompt=PromptInfo(fitted.tokens, fitted.budget, fitted.omitted, fitted.first_sent_id),
                )
            )
            if fitted.passages:
                write_soon(self.store.record_sources, run.id, fitted.passages)
                streamer.emit(SourcesFound(thread.id, run.id, answer.id, sources=fitted.passages))
            toolbox = self.toolbox(assistant)
            # In memory, and one indexed query for the knowledge: not worth a thread hop.
            offered = toolbox.tools()
            tools = offered if model.calls_tools else []
            if offered and not model.calls_tools and model.uri not in self._told_no_tools:
                # Once a session: never pretend a model used a tool it cannot call.
                self._told_no_tools.add(model.uri)
                who = backend.model_name if model.local and backend.model_name else model.name
                streamer.notice(f"{who} does not call tools: it answers without them.", kept=True)
            streamer.ctx.tool_servers = {t.name: t.server for t in tools}
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await streamer.consume_cancelled()
            raise
        except Exception as exc:
            final = await streamer.fail(exc)
        else:

            async def answer_it() -> RunFinished:
                return await self._rounds(assistant, model, fitted, tools, toolbox, streamer, policy)

            if fitted.tokens is None:
                final = await self.fitter.count_meanwhile(model, run.id, fitted, answer_it)
            else:
                final = await answer_it()
        if final.error and self.backend is not None and self.backend.kind == "local":
            await self.session.forget_dead_local_server()
        return final

    async def _rounds(
        self,
        assistant: Assistant,
        model: ModelChoice,
        fitted: FittedPrompt,
        tools: list[ToolSpec],
        toolbox: Toolbox,
        streamer: RunStreamer,
        policy: ToolPolicy | None,
    ) -> RunFinished:
        """The model's answer; while it calls tools, the calls run and it is asked again."""
        settings = self.settings
        limits = ToolLimits(
            rounds_at_most=settings.tool_rounds_at_most,
            timeout_s=settings.tool_timeout_s,
            output_tokens_at_most=settings.tool_output_tokens_at_most,
        )
        policy = policy or ToolPolicy()
        if policy.remember is None:
            policy.remembered.update(self.store.tool_permissions(assistant.id))

            async def remember(tool: str, decision: str) -> None:
                await write(self.store.set_tool_permission, assistant.id, tool, decision)

            policy.remember = remember
        by_name = {t.name: t for t in tools}
        repeats = RepeatWatch()
        counts = self.fitter.counts(model)

        async def count_tokens(text: str) -> int:
            return await counts.whole([{"role": "user", "text": text}])

        rounds = 0
        messages = fitted.messages
        over_responses = None
        if model.transport is Transport.RESPONSES:
            try:
                over_responses = await self._responses_answer(assistant, model, fitted, tools, streamer)
            except Exception as exc:  # no HTTP API on the local server, a store that fails
                return await streamer.fail(exc)
            next_results: Any = over_responses.rounds
        else:
            sdk_model = self._model_object(assistant, model, tools)

            def next_results(messages: list[PromptMessage]) -> Any:
                return stream(sdk_model, model.transport, messages, timeout=settings.request_timeout_s)

        while True:
            outcome = await streamer.consume(next_results(messages))
            if isinstance(outcome, RunFinished):
                if over_responses is not None:
                    await over_responses.finished(outcome)
                return outcome
            calls = outcome
            for call in calls:
                call.spec = by_name.get(call.name)
            if over_responses is not None:
                over_responses.rounds.name_hosted(calls)  # remote MCP calls awaiting approval
            rounds += 1
            if rounds > limits.rounds_at_most:
                capped = (
                    f"Stopped after {limits.rounds_at_most} rounds of tool calls "
                    "(tool_rounds_at_most in the config)."
                )
                for call in calls:
                    call.status = ToolStatus.SKIPPED
                    call.outcome = _not_run(capped)
                    streamer.finished(call)
                streamer.notice(capped, kept=True)
                return await streamer.stop(capped)
            tool_round = ToolRound(
                provider=toolbox if over_responses is None else over_responses.rounds.provider(toolbox),
                tools=tools,
                policy=policy,
                limits=limits,
                reporter=streamer,
                count_tokens=count_tokens,
                thread_id=streamer.ctx.thread_id,
                message_id=streamer.ctx.message_id,
                assistant_name=assistant.name,
            )
            try:
                stop = await tool_round.run(calls, repeats)
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True):
                    await streamer.consume_cancelled()
                raise
            messages = messages + streamer.round_prompt(calls)
            if stop is not None:
                streamer.notice(stop, kept=True)
                return await streamer.stop(stop)

    async def _responses_answer(
        self,
        assistant: Assistant,
        model: ModelChoice,
        fitted: FittedPrompt,
        tools: list[ToolSpec],
        streamer: RunStreamer,
    ) -> ResponsesAnswer:
        from yachat.core.responses_context import responses_answer

        backend = await self.connect()
        return await responses_answer(
            settings=self.settings,
            store=self.store,
            session=self.session,
            backend=backend,
            assistant=assistant,
            model=model,
            fitted=fitted,
            tools=tools,
            streamer=streamer,
        )

    def _model_object(self, assistant: Assistant, model: ModelChoice, tools: Sequence[ToolSpec]) -> Any:
        options: dict[str, Any] = {}
        if tools:
            options["tools"] = tools
            if not self.settings.parallel_tool_calls:
                options["parallel_tool_calls"] = False
        return model_object(
            self.session.sdk,
            model.transport,
            model.name,
            model.version,
            temperature=assistant.temperature,
            max_tokens=assistant.max_tokens,
            reasoning_mode=model.reasoning_mode,
            **options,
        )

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
            thread.id,
            assistant.id,
            model_uri(self.settings, assistant),
            transport=self.transport_of(assistant),
        )
        answer = store.add_message(thread.id, "assistant", "", status=MessageStatus.STREAMING, run_id=run.id)
        return user, run, answer

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


def _not_run(why: str) -> ToolOutcome:
    return ToolOutcome(f"Not run: {why}", is_error=True)
