"""Starts one stdio MCP server so that it cannot outlive yachat: `python -I -S mcp_launch.py CMD ARGS...`.

The `mcp` package spawns servers itself (no pre-exec hook, and a pre-exec hook
is unsafe in a process with threads), so this small stage runs in between:
- on Linux it asks the kernel for SIGTERM when its parent (yachat) dies,
  however yachat dies, even by SIGKILL; then it execs the server, which keeps
  that request;
- it leaves the server only the variables named in $YACHAT_MCP_KEEP: the SDK
  adds a few of its own (TERM, SHELL, USER...) to every server's environment.

Standard library only: it runs isolated (-I -S), before anything else loads.
"""

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    keep = set(filter(None, os.environ.get("YACHAT_MCP_KEEP", "").split(",")))
    parent = os.environ.get("YACHAT_MCP_PARENT", "")
    env = {k: v for k, v in os.environ.items() if k in keep}
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        # yachat may have died before the request was made: then no signal will come.
        if parent and str(os.getppid()) != parent:
            sys.exit(1)
    command, args = sys.argv[1], sys.argv[1:]
    try:
        os.execvpe(command, args, env)
    except OSError as exc:
        print(f"cannot start {command}: {exc.strerror}", file=sys.stderr, flush=True)
        sys.exit(127)


if __name__ == "__main__":
    main()
