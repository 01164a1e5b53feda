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
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
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
        "--no-runtime-file",
        action="store_true",
        help="do not record the address and token for yachat clients to find",
    )


def run(args: argparse.Namespace) -> int:
    from yachat.logs import setup_logging
    from yachat.paths import local_server_file
    from yachat.server.app import start_grpc_server
    from yachat.server.engines import make_engine
    from yachat.server_info import ServerInfo, remove_server_info, write_server_info

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
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

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
        )
        tls = None
        if args.tls_cert or args.tls_key:
            if not (args.tls_cert and args.tls_key):
                raise ValueError("--tls-cert and --tls-key go together")
            with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as cert:
                tls = (key.read(), cert.read())
        server = start_grpc_server(engine, args.host, args.port, token, hint, tls)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"yachat serve: {exc}", file=sys.stderr)
        return 1
    print(f"yachat serve: {engine.name} ready in {time.monotonic() - started:.2f} s", file=sys.stderr)

    if runtime_file is not None:
        write_server_info(
            ServerInfo(server.host, server.port, token, os.getpid(), args.serve_engine), runtime_file
        )
    print(READY.format(address=server.address), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        if runtime_file is not None:
            remove_server_info(os.getpid(), runtime_file)
    return 0
