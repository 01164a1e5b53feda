"""`yachat serve`: flags, start-up, the ready line, a clean stop on a signal.

Import-light on purpose: `yachat --help` imports this module.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import threading
import time
from typing import Any

READY = "yachat serve: listening on {address}"
# Printed on stdout just before READY: what yachat records for its clients.
# "tool calls off": the engine ignores offered tools and answers with text (clients say so).
MODEL = "yachat serve: model {model}, context {context} tokens, tool calls {tools}"
CHAT_API = "yachat serve: chat API on {url}"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument(
        "--http-port",
        type=int,
        default=0,
        help="port of the OpenAI-compatible chat API (default 0: a free one; -1: none)",
    )
    parser.add_argument(
        "--token", help="the token clients must send (else $YACHAT_LOCAL_TOKEN, else a new one)"
    )
    parser.add_argument(
        "--engine",
        dest="serve_engine",
        default="smollm2",
        choices=("smollm2", "scripted", "firehose"),
        help="smollm2 (on-device model, default), scripted (tests), firehose (benchmarks)",
    )
    parser.add_argument("--model", dest="model_path", help="run this chat GGUF instead of SmolLM2")
    parser.add_argument("--script", help="the scripted engine's JSON script (else $YACHAT_SCRIPT)")
    parser.add_argument("--firehose-chunks", type=int, help="chunks per firehose answer (default 2000)")
    parser.add_argument("--firehose-rate", type=float, help="firehose chunks per second (0: no limit)")
    parser.add_argument(
        "--tls-cert",
        help="serve TLS with this certificate chain (PEM), as Yandex Cloud does; needs --tls-key",
    )
    parser.add_argument("--tls-key", help="the private key (PEM) for --tls-cert")
    parser.add_argument(
        "--context",
        type=_positive,
        help="the context in tokens, prompt and answer together (else $YACHAT_SERVE_CONTEXT, else the "
        "model's own from its GGUF; 32768 for the scripted and firehose engines)",
    )
    parser.add_argument(
        "--threads", type=_positive, help="CPU threads for the model (default: the cores yachat may use)"
    )
    parser.add_argument(
        "--max-answer-tokens",
        type=_non_negative,
        help="cap every answer at N tokens, ending it as TRUNCATED_FINAL (default: 400 for SmolLM2, "
        "none otherwise; 0: no cap)",
    )
    parser.add_argument(
        "--no-embeddings",
        action="store_true",
        help="do not serve text-search-doc/text-search-query embeddings (also $YACHAT_SERVE_EMBEDDINGS=off); "
        "they are served from multilingual-e5-small when the local extra is installed",
    )
    parser.add_argument(
        "--exit-with-owner",
        action="store_true",
        help="exit once stdin closes (the yachat that started this server has ended) and no other "
        "yachat holds a lease on it; yachat passes this to a server it starts",
    )
    parser.add_argument(
        "--responses-ttl",
        type=_positive,
        default=30 * 86400,
        metavar="SECONDS",
        help="how long stored Responses API responses are kept (default: 30 days, as Yandex keeps them)",
    )
    parser.add_argument(
        "--no-runtime-file",
        action="store_true",
        help="do not record the address and token for yachat clients to find",
    )


def _positive(text: str) -> int:
    return _whole(text, minimum=1)


def _non_negative(text: str) -> int:
    return _whole(text, minimum=0)


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least {minimum}, got {text!r}")
    return value


def _env_context() -> int | None:
    value = os.environ.get("YACHAT_SERVE_CONTEXT", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"YACHAT_SERVE_CONTEXT must be a positive number of tokens, got {value!r}")
    return int(value)


def run(args: argparse.Namespace) -> int:
    from yachat.logs import setup_logging
    from yachat.paths import local_server_file
    from yachat.server.app import start_grpc_server
    from yachat.server.embedder import MODEL_NAME as EMBEDDINGS_MODEL
    from yachat.server.embedder import open_embedder
    from yachat.server.engines import make_engine
    from yachat.server.engines.llama import available_cores
    from yachat.server.lifetime import Lifetime
    from yachat.server_info import ServerInfo

    setup_logging()
    if args.host not in LOOPBACK:
        print(
            f"yachat serve: warning: listening on {args.host}, beyond this machine; "
            "anyone who can reach it and has the token can use the model",
            file=sys.stderr,
        )
    token = args.token or os.environ.get("YACHAT_LOCAL_TOKEN") or secrets.token_urlsafe(32)
    runtime_file = None if args.no_runtime_file else local_server_file()
    hint = f"from {runtime_file}" if runtime_file else "given with --token or $YACHAT_LOCAL_TOKEN"

    stop = threading.Event()
    lifetime = Lifetime(runtime_file, watch_owner=args.exit_with_owner)

    def on_signal(*_: Any) -> None:
        stop.set()
        lifetime.wakeup.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    # Registered now (the gRPC method set is fixed once serving); loaded once ready.
    embedder, embeddings_off = open_embedder(not args.no_embeddings, args.threads or available_cores())
    if embedder is None:
        print(f"yachat serve: embeddings off: {embeddings_off}", file=sys.stderr, flush=True)
    if args.serve_engine == "smollm2":
        print(f"yachat serve: loading {args.model_path or 'SmolLM2-135M-Instruct'}…", file=sys.stderr)
    started = time.monotonic()
    try:
        engine: Any = make_engine(
            args.serve_engine,
            model_path=args.model_path,
            script_path=args.script or os.environ.get("YACHAT_SCRIPT"),
            chunks=args.firehose_chunks,
            rate=args.firehose_rate,
            context=args.context or _env_context(),
            threads=args.threads,
            max_answer_tokens=args.max_answer_tokens,
        )
        tls = None
        if args.tls_cert or args.tls_key:
            if not (args.tls_cert and args.tls_key):
                raise ValueError("--tls-cert and --tls-key go together")
            with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as cert:
                tls = (key.read(), cert.read())
        server = start_grpc_server(engine, args.host, args.port, token, hint, tls, embedder)
        http = None
        if args.http_port >= 0:
            from yachat.server.http_api import ChatApi, start_http_server
            from yachat.server.responses import responses_api

            chat = ChatApi(engine, token, hint, embedder)
            responses = responses_api(
                engine,
                chat.authorize,
                ttl_s=args.responses_ttl,
                vector_stores=getattr(chat, "vector_stores", None),
            )
            http = start_http_server(chat, args.host, args.http_port, routes=[responses])
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"yachat serve: {exc}", file=sys.stderr)
        return 1
    threads = getattr(engine, "threads", None)
    print(
        f"yachat serve: {engine.name} ready in {time.monotonic() - started:.2f} s (pid {os.getpid()}): "
        f"{engine.model_name}, "
        f"context {engine.context} tokens" + (f", {threads} threads" if threads else ""),
        file=sys.stderr,
        flush=True,
    )
    try:
        if lifetime.owner_gone():
            return 0  # the owner ended while the model loaded: nobody is waiting for it
        lifetime.publish(
            ServerInfo(
                server.host,
                server.port,
                token,
                os.getpid(),
                args.serve_engine,
                context=engine.context,
                model=engine.model_name,
                http_url=http.base_url if http is not None else "",
                embeddings=EMBEDDINGS_MODEL if embedder is not None else "",
                tool_calls=engine.tool_calls,
            )
        )
        try:
            tools = "on" if engine.tool_calls else "off"
            print(MODEL.format(model=engine.model_name, context=engine.context, tools=tools), flush=True)
            if http is not None:
                print(CHAT_API.format(url=http.base_url), flush=True)
            print(READY.format(address=server.address), flush=True)
        except BrokenPipeError:
            return 0  # the owner stopped reading: it has gone
        if embedder is not None:
            embedder.start()
        while not stop.is_set():
            lifetime.wait()
            if not stop.is_set() and lifetime.may_exit():
                print(
                    "yachat serve: no yachat uses this server any more; stopping", file=sys.stderr, flush=True
                )
                break
    finally:
        if http is not None:
            http.stop()
        server.stop()
        lifetime.withdraw()
    return 0
