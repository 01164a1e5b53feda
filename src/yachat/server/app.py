"""Assemble and run the local gRPC server."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from yandex.cloud.ai.foundation_models.v1.embedding import embedding_service_pb2_grpc as emb_grpc
from yandex.cloud.ai.foundation_models.v1.text_generation import (
    text_generation_service_pb2_grpc as tg_grpc,
)
from yandex.cloud.endpoint import api_endpoint_service_pb2_grpc as endpoint_grpc

from yachat.server.embedder import Embedder
from yachat.server.engines.base import Engine
from yachat.server.service import (
    Auth,
    EmbeddingsService,
    EndpointService,
    TextGenerationService,
    TokenizerService,
)

log = logging.getLogger(__name__)

# Streams hold a worker thread each for their whole life; leave room for many
# concurrent clients (and for stalled ones) before new calls would queue.
WORKERS = 64
MAX_MESSAGE_BYTES = 64 * 2**20


@dataclass
class RunningServer:
    server: grpc.Server
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, grace: float = 1.0) -> None:
        self.server.stop(grace).wait()


def start_grpc_server(
    engine: Engine,
    host: str,
    port: int,
    token: str,
    token_hint: str,
    tls: tuple[bytes, bytes] | None = None,
    embedder: Embedder | None = None,
) -> RunningServer:
    """Start serving; `tls` is (private key PEM, certificate chain PEM) for a TLS port.

    Without an `embedder`, TextEmbedding is not registered: clients get UNIMPLEMENTED.
    """
    # A synchronous server, as the SDK's own fakes use: an asyncio gRPC server
    # sharing a process with the async client breaks it (grpc issue 25364).
    server = grpc.server(
        ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="yachat-serve"),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    target = f"{_bracket(host)}:{port}"
    if tls is None:
        bound = server.add_insecure_port(target)
    else:
        bound = server.add_secure_port(target, grpc.ssl_server_credentials([tls]))
    if bound == 0:
        raise OSError(f"cannot listen on {host}:{port}")
    address = f"{host}:{bound}"
    auth = Auth(token, token_hint)
    endpoint_grpc.add_ApiEndpointServiceServicer_to_server(EndpointService(address), server)
    tg_grpc.add_TextGenerationServiceServicer_to_server(TextGenerationService(engine, auth), server)
    tg_grpc.add_TokenizerServiceServicer_to_server(TokenizerService(engine, auth), server)
    if embedder is not None:
        emb_grpc.add_EmbeddingsServiceServicer_to_server(EmbeddingsService(embedder, auth), server)
    server.start()
    return RunningServer(server, host, bound)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
