"""The SQLite connection: private files, WAL, one writer transaction at a time."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from yachat.paths import ensure_private_dir
from yachat.store.errors import StoreError, describe
from yachat.store.schema import READER_SETUP, migrate

BUSY_TIMEOUT_MS = 5000
Params = tuple[object, ...] | dict[str, object]


class Database:
    """Two connections: one writes, one reads. In WAL mode a read never waits for
    another process's write lock; with its own connection and lock it does not wait
    either behind this process's writer, which may sit in the busy wait (up to
    BUSY_TIMEOUT_MS) for that lock, in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._read_lock = threading.RLock()  # a read inside reading() joins its transaction
        try:
            ensure_private_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE) so a
            # write either lands whole or not at all, and readers never block.
            self.conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except (OSError, sqlite3.Error) as exc:
            raise describe(exc, path, "open") from exc
        try:
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            with self.lock:
                migrate(self.conn)
            self._private_sidecars()
            self._reader = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self._reader.row_factory = sqlite3.Row
            self._reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._reader.execute("PRAGMA foreign_keys = ON")
            for statement in READER_SETUP:
                self._reader.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            self.conn.close()
            raise describe(exc, path, "open") from exc

    def _private_sidecars(self) -> None:
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)

    @contextlib.contextmanager
    def write(self, doing: str = "write to") -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise describe(exc, self.path, doing) from exc
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise describe(exc, self.path, doing) from exc
                raise

    def read(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise describe(exc, self.path, "read") from exc

    @contextlib.contextmanager
    def reading(self) -> Iterator[Callable[[str, Params], list[sqlite3.Row]]]:
        """Several reads that see one state of the store (one read transaction)."""

        def rows(sql: str, params: Params = ()) -> list[sqlite3.Row]:
            return self._reader.execute(sql, params).fetchall()

        with self._read_lock:
            try:
                self._reader.execute("BEGIN")
                try:
                    yield rows
                finally:
                    self._reader.execute("COMMIT")
            except sqlite3.Error as exc:
                raise describe(exc, self.path, "read") from exc

    def close(self) -> None:
        with self._read_lock, contextlib.suppress(sqlite3.Error):
            self._reader.close()
        with self.lock, contextlib.suppress(sqlite3.Error):
            self.conn.close()


__all__ = ["Database", "StoreError"]
