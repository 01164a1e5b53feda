"""Store failures as one sentence a user can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class StoreError(Exception):
    """The store cannot do what was asked; the message says why and what to do."""


def must(value: T | None) -> T:
    """A row just written, read back; its absence means the store is broken."""
    if value is None:
        raise StoreError("a row just written could not be read back")
    return value


def describe(exc: BaseException, path: Path, doing: str) -> StoreError:
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError | OSError):
        if "disk is full" in text or "database or disk is full" in text or "no space" in text:
            return StoreError(f"cannot {doing} {path}: the disk is full; free some space and retry.")
        if "readonly" in text or "read-only" in text or "permission denied" in text:
            return StoreError(
                f"cannot {doing} {path}: it is read-only; check the permissions of {path.parent}."
            )
        if "locked" in text or "busy" in text:
            return StoreError(f"cannot {doing} {path}: another process holds it locked; retry.")
        if "not a database" in text or "malformed" in text:
            return StoreError(
                f"cannot {doing} {path}: the file is damaged; move it aside and yachat starts afresh."
            )
        if "unable to open" in text or isinstance(exc, OSError):
            return StoreError(f"cannot {doing} {path}: {_reason(exc)}; check that its directory is writable.")
    return StoreError(f"cannot {doing} {path}: {exc}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
