"""Everything yachat or its libraries would print goes to a private log file.

The TUI owns the terminal: a stray warning, a gRPC message or an asyncio
"exception was never retrieved" written to stderr would corrupt the screen.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

from yachat import paths

_configured = False


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send logging and warnings to the log file; returns its path (None if unwritable)."""
    global _configured
    path = paths.log_file()
    if _configured:
        return path
    _configured = True
    warnings.filterwarnings("ignore", message=".*package is deprecated.*")
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.setLevel(level)
    try:
        paths.ensure_private_dir(path.parent)
        path.touch(mode=0o600, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler, path = logging.NullHandler(), None  # type: ignore[assignment]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # The SDK logs request metadata at debug level; keep its chatter down.
    logging.getLogger("yandex_ai_studio_sdk").setLevel(logging.WARNING)
    return path


def route_loop_errors() -> None:
    """Log the running loop's unhandled errors instead of printing them.

    The SDK's interceptors raise from done-callbacks in some paths (see the API
    notes); asyncio would print those to stderr, over the TUI.
    """
    loop = asyncio.get_running_loop()
    logger = logging.getLogger("yachat.loop")

    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        logger.warning("loop: %s", context.get("message"), exc_info=exc)

    loop.set_exception_handler(handler)
