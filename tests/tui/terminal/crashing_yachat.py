"""`yachat` with one failure injected for the crash test: F1 raises. Nothing else
differs from `python -m yachat`; the product has no hook for this."""

from __future__ import annotations

from yachat.cli.main import main
from yachat.tui.app import YachatApp


def _boom(self: YachatApp) -> None:
    raise RuntimeError("injected failure for the crash test")


YachatApp.action_help = _boom  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main([]))
