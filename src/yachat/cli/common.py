"""Flags every command shares, and how they become Settings."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from yachat.settings import BACKENDS, ConfigError, Settings, load_settings

EXIT_CODES = """\
exit status:
  0     done
  1     the answer or the command failed (the reason is one line on stderr)
  2     usage: a bad option or argument, or a config file that cannot be used
  70    the TUI stopped on an unexpected error (messages saved; see the log it names)
  130   interrupted (ctrl+c); the part of an answer so far is kept, marked
  128+N stopped by signal N: 129 on SIGHUP, 143 on SIGTERM"""

WHERE_OPTIONS_GO = """\
Global options go before or after the command: `yachat ask --backend local "q"`
is `yachat --backend local ask "q"`. `yachat serve` takes only its own options."""

_SETTINGS_FLAGS = (
    "backend",
    "model",
    "transport",
    "folder_id",
    "endpoint",
    "local_engine",
    "local_model_path",
    "web_search",
)


def add_global_arguments(parser: argparse.ArgumentParser, default: Any = None) -> None:
    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument(
        "--backend", choices=BACKENDS, default=default, help="where answers come from (default: auto)"
    )
    group.add_argument(
        "--model",
        metavar="NAME",
        default=default,
        help="model for this session, e.g. yandexgpt/rc or yandexgpt-lite",
    )
    group.add_argument(
        "--transport",
        choices=("grpc", "chat", "responses"),
        default=default,
        help="how the model is reached this session: gRPC, the chat API, or the Responses API "
        "(default: the assistant's choice)",
    )
    group.add_argument(
        "--folder-id",
        dest="folder_id",
        metavar="ID",
        default=default,
        help="Yandex Cloud folder (else $YC_FOLDER_ID)",
    )
    group.add_argument(
        "--endpoint",
        metavar="HOST:PORT",
        default=default,
        help="Yandex Cloud API endpoint (else $YC_API_ENDPOINT)",
    )
    group.add_argument(
        "--engine",
        dest="local_engine",
        metavar="NAME",
        default=default,
        help="local server engine when the local backend starts one (smollm2, scripted, firehose)",
    )
    group.add_argument(
        "--local-model",
        dest="local_model_path",
        metavar="PATH",
        default=default,
        help="a chat GGUF for the local server",
    )
    group.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=default,
        help="config file (default: the user's config dir)",
    )


def global_options_parent() -> argparse.ArgumentParser:
    """The global options for every subcommand's parser, so they may follow the command.

    Their defaults are SUPPRESS: argparse copies a subcommand's namespace over the
    top-level one, and a None there would erase a value given before the command.
    """
    parent = argparse.ArgumentParser(add_help=False)
    add_global_arguments(parent, default=argparse.SUPPRESS)
    return parent


def settings_from_args(args: argparse.Namespace) -> Settings:
    flags = {key: getattr(args, key, None) for key in _SETTINGS_FLAGS}
    return load_settings(flags, config_path=getattr(args, "config", None))


def use_color(stream: TextIO = sys.stdout) -> bool:
    """Colour and styling only on a terminal, and never when $NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def retry_command(thread_id: int) -> str:
    return f"retry with `yachat ask --thread {thread_id} --retry`"


def failed_answer_line(error: str, thread_id: int) -> str:
    """A failed answer's error with how to ask again from the shell, never "press Retry"."""
    from yachat.core.errors import phrase_retry  # gRPC comes with it: not for `yachat --help`

    phrased = phrase_retry(error, retry_command(thread_id))
    if phrased == error:  # no hint in the core's words: once the cause is fixed, it can still be retried
        phrased = f"{error.rstrip('. ')}; then {retry_command(thread_id)}."
    return phrased


def fail(message: str, code: int = 1) -> int:
    print(f"yachat: {message}", file=sys.stderr)
    return code


def load_or_fail(args: argparse.Namespace) -> Settings | None:
    try:
        return settings_from_args(args)
    except ConfigError as exc:
        fail(str(exc), 2)
        return None
