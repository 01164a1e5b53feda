"""An assistant's cloud copy of its knowledge: the vector store it was pushed to, where that
store lives (the API's base URL and the folder), and each file as uploaded."""

from __future__ import annotations

import time
from dataclasses import dataclass

from yachat.store.db import Database


@dataclass(frozen=True)
class CloudFile:
    path: str
    sha256: str
    file_id: str
    bytes: int
    uploaded_at: float


@dataclass(frozen=True)
class CloudCopy:
    assistant_id: int
    vector_store_id: str
    endpoint: str
    folder_id: str
    created_at: float
    pushed_at: float | None
    files: tuple[CloudFile, ...]

    def lives_at(self, endpoint: str, folder_id: str) -> bool:
        return self.endpoint.rstrip("/") == endpoint.rstrip("/") and self.folder_id == folder_id

    def path_of(self, file_id: str) -> str | None:
        """The local path a cloud file id stands for (what a file citation is shown as)."""
        return next((f.path for f in self.files if f.file_id == file_id), None)


class CloudCopyStore:
    _db: Database

    def cloud_copy(self, assistant_id: int) -> CloudCopy | None:
        with self._db.reading() as rows:
            found = rows("SELECT * FROM cloud_copies WHERE assistant_id = ?", (assistant_id,))
            files = rows(
                "SELECT path, sha256, file_id, bytes, uploaded_at FROM cloud_copy_files"
                " WHERE assistant_id = ? ORDER BY path",
                (assistant_id,),
            )
        if not found:
            return None
        row = found[0]
        return CloudCopy(
            row["assistant_id"],
            row["vector_store_id"],
            row["endpoint"],
            row["folder_id"],
            row["created_at"],
            row["pushed_at"],
            tuple(CloudFile(*f) for f in files),
        )

    def cloud_copies(self) -> list[CloudCopy]:
        ids = [r[0] for r in self._db.read("SELECT assistant_id FROM cloud_copies ORDER BY assistant_id")]
        return [c for i in ids if (c := self.cloud_copy(i)) is not None]

    def start_cloud_copy(
        self, assistant_id: int, vector_store_id: str, endpoint: str, folder_id: str
    ) -> None:
        """A new copy for the assistant, replacing any other (whose file rows go with it)."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM cloud_copies WHERE assistant_id = ?", (assistant_id,))
            conn.execute(
                "INSERT INTO cloud_copies (assistant_id, vector_store_id, endpoint, folder_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (assistant_id, vector_store_id, endpoint, folder_id, time.time()),
            )

    def record_cloud_file(self, assistant_id: int, path: str, sha256: str, file_id: str, size: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO cloud_copy_files (assistant_id, path, sha256, file_id, bytes,"
                " uploaded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (assistant_id, path, sha256, file_id, size, time.time()),
            )

    def forget_cloud_file(self, assistant_id: int, path: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM cloud_copy_files WHERE assistant_id = ? AND path = ?", (assistant_id, path)
            )

    def mark_cloud_pushed(self, assistant_id: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE cloud_copies SET pushed_at = ? WHERE assistant_id = ?", (time.time(), assistant_id)
            )

    def forget_cloud_copy(self, assistant_id: int) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM cloud_copies WHERE assistant_id = ?", (assistant_id,))
