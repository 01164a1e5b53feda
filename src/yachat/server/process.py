"""The launcher of the server program, by the name the tests and benches use.

It lives in `yachat.server_process`, a leaf module: the client starts the server
through it without importing the server package."""

from yachat.server_process import (
    KEEP_LOGS,
    READY_PREFIX,
    ServerProcess,
    ServerStartError,
    prompt_tokens_seen,
    start_server_process,
)

__all__ = [
    "KEEP_LOGS",
    "READY_PREFIX",
    "ServerProcess",
    "ServerStartError",
    "prompt_tokens_seen",
    "start_server_process",
]
