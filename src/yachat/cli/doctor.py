"""`yachat doctor`: what yachat would do and why, without printing a secret."""

from __future__ import annotations

import socket
import sys

from yachat import paths
from yachat.core.backend import choose_backend_kind, yc_cli_configured, yc_cli_folder
from yachat.local_model import local_model_missing, needs_local_extra
from yachat.server_info import read_server_info
from yachat.settings import Settings


def _line(label: str, value: str) -> None:
    print(f"{label:<14} {value}")


def _credentials(settings: Settings) -> str:
    for key, name in (
        ("api_key", "API key"),
        ("iam_token", "IAM token"),
        ("oauth_token", "OAuth token"),
    ):
        if getattr(settings, key):
            return f"{name} found ({settings.sources.get(key, 'settings')})"
    if yc_cli_configured():
        return "yc CLI profile found"
    return "none found (set YC_API_KEY or YC_IAM_TOKEN, or configure the yc CLI)"


def _reachable(address: str, timeout: float = 3.0) -> str:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return f"{address} answers"
    except (OSError, ValueError) as exc:
        return f"{address} does not answer ({exc.__class__.__name__}: {exc})"


def run_doctor(settings: Settings) -> int:
    kind, reason = choose_backend_kind(settings)
    # Nothing would answer: the local backend would start a model that is not installed.
    stuck = kind == "local" and not settings.local_address and needs_local_extra(settings.local_engine)
    _line("backend", local_model_missing(auto=settings.backend == "auto") if stuck else f"{kind}: {reason}")
    folder = settings.folder_id or yc_cli_folder()
    folder_from = settings.sources.get("folder_id", "yc CLI profile") if folder else ""
    _line("folder", f"found ({folder_from})" if folder else "not set (YC_FOLDER_ID)")
    _line("credentials", _credentials(settings))
    if kind == "cloud":
        _line("endpoint", _reachable(settings.endpoint))
    elif not stuck:
        running = read_server_info()
        if settings.local_address:
            _line("local server", _reachable(settings.local_address))
        elif running:
            _line(
                "local server",
                f"running ({running.engine}, pid {running.pid}): {_reachable(running.address)}",
            )
        else:
            _line(
                "local server",
                f"not running; yachat starts one ({settings.local_engine}) when needed",
            )
    config = settings.config_path
    _line("config", f"{config} ({'exists' if config.exists() else 'not created yet'})")
    _line("store", str(settings.store_path))
    _line("runtime", str(paths.runtime_dir()))
    _line("log", str(paths.log_file()))
    _line(
        "data logging",
        "on (Yandex may log prompts)" if settings.enable_server_data_logging else "off",
    )
    sys.stdout.flush()
    return 1 if stuck else 0
