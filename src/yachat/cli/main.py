"""The `yachat` command: subcommands dispatch to their front ends lazily,
so `yachat serve` never imports the TUI and the TUI never imports the server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from yachat.cli import common

    parser = argparse.ArgumentParser(
        prog="yachat",
        description="A terminal chat for Yandex AI Studio models. With no command, opens the TUI.",
    )
    common.add_global_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the local model server (Yandex's gRPC API)")
    from yachat.server.cli import add_arguments

    add_arguments(serve)

    from yachat.cli import commands

    commands.add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
