"""Flags every command shares, and how they become Settings."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yachat.settings import BACKENDS, ConfigError, Settings, load_settings


def add_global_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("backend")
    group.add_argument("--backend", choices=BACKENDS, help="where answers come from (default: auto)")
    group.add_argument("--model", help="model for this session, e.g. yandexgpt/rc or yandexgpt-lite")
    group.add_argument("--folder-id", dest="folder_id", help="Yandex Cloud folder (else $YC_FOLDER_ID)")
    group.add_argument("--endpoint", help="Yandex Cloud API endpoint (else $YC_API_ENDPOINT)")
    group.add_argument(
        "--engine",
        dest="local_engine",
        help="local server engine when the local backend starts one (smollm2, scripted, firehose)",
    )
    group.add_argument("--local-model", dest="local_model_path", help="a chat GGUF for the local server")
    group.add_argument("--config", type=Path, help="config file (default: the user's config dir)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    flags = {
        key: getattr(args, key, None)
        for key in ("backend", "model", "folder_id", "endpoint", "local_engine", "local_model_path")
    }
    return load_settings(flags, config_path=getattr(args, "config", None))


def fail(message: str, code: int = 1) -> int:
    print(f"yachat: {message}", file=sys.stderr)
    return code


def load_or_fail(args: argparse.Namespace) -> Settings | None:
    try:
        return settings_from_args(args)
    except ConfigError as exc:
        fail(str(exc), 2)
        return None
