"""`yachat doctor`: what yachat would do and why, without printing a secret."""

from __future__ import annotations

import os
import socket
import ssl
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


def _reachable(address: str, *, timeout: float, tls: bool = False) -> str:
    """Whether a connection (and, for the cloud, a verified TLS handshake) can be made,
    in the words a failed answer would use."""
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port_text)
    except ValueError:
        return f"{address} is not HOST:PORT"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if tls:
                with _tls_context().wrap_socket(sock, server_hostname=host):
                    return f"{address} answers (TLS verified)"
            return f"{address} answers"
    except socket.gaierror:
        return f"{address} cannot be reached: its name does not resolve"
    except ConnectionRefusedError:
        return f"{address} cannot be reached: the connection was refused"
    except ssl.SSLCertVerificationError as exc:
        return f"{address} cannot be reached: the server's certificate is not trusted ({exc.verify_message})"
    except ssl.SSLError as exc:
        return f"{address} cannot be reached: the TLS handshake failed ({exc.reason or exc})"
    except TimeoutError:
        return f"{address} cannot be reached: no answer within {timeout:g} s"
    except OSError as exc:
        return f"{address} cannot be reached: {exc.strerror or exc}"


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    # The roots gRPC is told to trust, when they are not the system's.
    roots = os.environ.get("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH")
    if roots:
        context.load_verify_locations(roots)
    return context


def run_doctor(settings: Settings) -> int:
    kind, reason = choose_backend_kind(settings)
    # Nothing would answer: the local backend would start a model that is not installed.
    stuck = kind == "local" and not settings.local_address and needs_local_extra(settings.local_engine)
    _line("backend", local_model_missing(auto=settings.backend == "auto") if stuck else f"{kind}: {reason}")
    folder = settings.folder_id or yc_cli_folder()
    folder_from = settings.sources.get("folder_id", "yc CLI profile") if folder else ""
    _line("folder", f"found ({folder_from})" if folder else "not set (YC_FOLDER_ID)")
    _line("credentials", _credentials(settings))
    model_from = settings.sources.get("model")
    _line("model", f"{settings.model} ({model_from})" if model_from else "each assistant's own")
    if kind == "cloud":
        _line("endpoint", _reachable(settings.endpoint, timeout=settings.connect_timeout_s, tls=True))
    elif not stuck:
        running = read_server_info()
        if settings.local_address:
            _line("local server", _reachable(settings.local_address, timeout=settings.connect_timeout_s))
        elif running:
            _line(
                "local server",
                f"running ({running.engine}, pid {running.pid}): "
                f"{_reachable(running.address, timeout=settings.connect_timeout_s)}",
            )
        else:
            engine = settings.local_engine
            if settings.local_model_path:
                engine = f"{engine}, model {settings.local_model_path}"
            _line("local server", f"not running; yachat starts one ({engine}) when needed")
    servers = settings.mcp_servers
    if servers:
        enabled = [name for name, c in servers.items() if c.enabled]
        off = len(servers) - len(enabled)
        names = ", ".join(enabled) or "none enabled"
        _line("mcp servers", f"{names}{f' ({off} disabled)' if off else ''}; `yachat mcp list` starts them")
    else:
        _line("mcp servers", "none ([mcp_servers.NAME] in the config, or `yachat mcp import`)")
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
