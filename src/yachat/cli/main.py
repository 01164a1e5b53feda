"""The `yachat` command: subcommands dispatch to their front ends lazily,
so `yachat serve` never imports the TUI and the TUI never imports the server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yachat")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _ShowVersion(argparse.Action):
    """argparse's "version" action, with the version looked up only when asked: the
    lookup (importlib.metadata) took ~15 ms of every start."""

    def __init__(
        self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object
    ) -> None:
        super().__init__(
            option_strings,
            dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"yachat {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from yachat.cli import commands, common

    parser = argparse.ArgumentParser(
        prog="yachat",
        description="A terminal chat for Yandex AI Studio models. With no command, opens the TUI.",
        epilog=f"{common.EXIT_CODES}\n\n{common.WHERE_OPTIONS_GO}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_ShowVersion)
    common.add_global_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # The server is not a chat client: its --model and --engine mean the server's own.
    serve = sub.add_parser("serve", help="run the local model server (Yandex's gRPC API)")
    from yachat.server.cli import add_arguments

    add_arguments(serve)

    commands.add_subcommands(sub, common.global_options_parent())
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # gRPC's C core logs failed handshakes to stderr, over the CLI's one line and
    # the TUI's screen; what matters reaches the user as the run's error. Set
    # before gRPC loads, and only a default: GRPC_VERBOSITY set by the user wins.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            from yachat.server.cli import run

            return run(args)
        from yachat.cli import commands

        return commands.dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # A reader such as `head` went away; nothing left to say.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
