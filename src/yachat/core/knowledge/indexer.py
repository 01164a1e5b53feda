"""Index files and folders into an assistant's knowledge, incrementally.

A file whose size and mtime are what the index saw is not opened; one whose
bytes hash the same is not chunked again. Whatever cannot be indexed (too big,
binary, unreadable, no text, a symlink loop, gone mid-way) is recorded with the
reason and the rest goes on. Blocking work: run it in a thread from async code.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yachat.core.errors import UserFacingError
from yachat.core.knowledge.chunking import chunk
from yachat.core.knowledge.extract import MAX_FILE_BYTES, Skipped, extract, kind_of
from yachat.store import Store
from yachat.store.knowledge import FileRecord, KnowledgeFile, KnowledgeRoot

# Folders no one means when they add a project or a notes folder.
IGNORED_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "target", "dist", "build"}

# Files written in one transaction, at most, or about this much text.
BATCH_FILES = 64
BATCH_CHARS = 2**20  # ~150 ms of FTS5 work: the transaction holds the store from the UI no longer

ProgressSink = Callable[[int, int, str], None]  # files done, files found so far, the current path


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # written now
    bytes_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def work_done(self) -> int:
        """Files read and chunked (0 when nothing changed)."""
        return self.added + self.updated + self.removed

    def merge(self, other: IndexReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.chunks += other.chunks
        self.bytes_read += other.bytes_read
        self.skipped += other.skipped


class KnowledgeError(UserFacingError):
    pass


def absolute(path: str | Path) -> Path:
    """The path as the user named it, made absolute (links kept: the name is theirs)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def add_paths(
    store: Store,
    assistant_id: int,
    paths: list[str | Path],
    on_progress: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IndexReport:
    """Add files and folders to the assistant's knowledge and index them."""
    targets = [absolute(p) for p in paths]
    for target in targets:
        if not os.path.lexists(target):
            raise KnowledgeError(f"{target} does not exist; check the path.")
    report = IndexReport()
    try:
        for target in targets:
            root_id, root = _root_for(store, assistant_id, target)
            report.merge(index_root(store, assistant_id, root_id, root, on_progress, should_stop))
    finally:
        _count_terms(store, report)
    return report


def _root_for(store: Store, assistant_id: int, target: Path) -> tuple[int, Path]:
    """The added path that covers `target`: an added folder it is inside (indexed again),
    or `target` itself, taking over the files of added paths inside it."""
    roots = store.knowledge_roots(assistant_id)
    for root in roots:
        if _inside(str(target), root.path):
            return root.id, Path(root.path)
    root_id = store.add_knowledge_root(assistant_id, str(target))
    for root in roots:
        if root.id != root_id and _inside(root.path, str(target)):
            store.merge_knowledge_root(root.id, root_id)
    return root_id, target


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _count_terms(store: Store, report: IndexReport) -> None:
    """After the chunks changed: the counts of chunks per word that retrieval ranks by."""
    if report.work_done or report.chunks:
        store.count_terms()


def reindex(
    store: Store,
    assistant_id: int | None = None,
    on_progress: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IndexReport:
    """Bring every added path (of one assistant, or all) up to date with the disk."""
    report = IndexReport()
    try:
        for root in store.knowledge_roots(assistant_id):
            report.merge(
                index_root(store, root.assistant_id, root.id, Path(root.path), on_progress, should_stop)
            )
    finally:
        _count_terms(store, report)
    return report


def find_root(store: Store, assistant_id: int, path: str | Path) -> KnowledgeRoot:
    """The added path `path` names, or one clear sentence why it names none."""
    target = str(absolute(path))
    roots = store.knowledge_roots(assistant_id)
    for root in roots:
        if root.path == target:
            return root
    for root in roots:
        if target.startswith(root.path.rstrip(os.sep) + os.sep):
            raise KnowledgeError(
                f"{target} is part of the added folder {root.path}; remove that folder, "
                "or move the file out of it and reindex."
            )
    raise KnowledgeError(f"{target} is not in this assistant's knowledge; see `yachat kb list`.")


def index_root(
    store: Store,
    assistant_id: int,
    root_id: int,
    root: Path,
    on_progress: ProgressSink | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> IndexReport:
    report = IndexReport()
    known = {f.path: f for f in store.knowledge_files(root_id)}
    found = list(walk(root))
    batch = _Batch(store)
    try:
        for done, (path, st, reason) in enumerate(found):
            if should_stop is not None and should_stop():
                return report
            if on_progress is not None:
                on_progress(done, len(found), str(path))
            old = known.pop(str(path), None)
            if reason is not None or st is None:
                report.skipped.append((str(path), reason or "unreadable"))
                batch.add(FileRecord(assistant_id, root_id, str(path), 0, 0, None, "", skipped=reason))
                continue
            # Unchanged on disk: nothing is read. A file skipped for what it holds stays
            # skipped; one skipped before it could be read (permissions, gone) is tried again.
            if (
                old is not None
                and old.size == st.st_size
                and old.mtime_ns == st.st_mtime_ns
                and (old.skipped is None or old.sha256 is not None)
            ):
                report.unchanged += 1
                if old.skipped:
                    report.skipped.append((str(path), old.skipped))
                continue
            batch.add(_index_file(FileRecord(assistant_id, root_id, str(path), st.st_size, st.st_mtime_ns,
                                             None, ""), path, old, report))  # fmt: skip
    finally:
        batch.flush()  # what was indexed before a stop is kept
    if on_progress is not None and found:
        on_progress(len(found), len(found), "")
    gone = [f.id for f in known.values()]
    store.forget_knowledge_files(gone)
    report.removed += len(gone)
    return report


class _Batch:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.records: list[FileRecord] = []
        self.chars = 0

    def add(self, record: FileRecord) -> None:
        self.records.append(record)
        self.chars += sum(len(c.text) for c in record.chunks or ())
        if len(self.records) >= BATCH_FILES or self.chars >= BATCH_CHARS:
            self.flush()

    def flush(self) -> None:
        records, self.records, self.chars = self.records, [], 0
        self.store.save_knowledge_files(records)


def _index_file(record: FileRecord, path: Path, old: KnowledgeFile | None, report: IndexReport) -> FileRecord:
    """The file's record: its chunks, or why it is skipped, or (same bytes) keep what is stored."""

    def skip(reason: str, sha: str | None = None, kind: str = "") -> FileRecord:
        report.skipped.append((str(path), reason))
        return dataclasses.replace(record, sha256=sha, kind=kind, skipped=reason)

    if record.size > MAX_FILE_BYTES:
        return skip(f"too big ({_mb(record.size)}; the limit is {_mb(MAX_FILE_BYTES)})")
    try:
        kind_of(path)
    except Skipped as exc:
        return skip(str(exc))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return skip(os_reason(exc))
    if len(data) > MAX_FILE_BYTES:
        return skip(f"too big (over {_mb(MAX_FILE_BYTES)}; it grew while being read)")
    report.bytes_read += len(data)
    sha = hashlib.sha256(data).hexdigest()
    if old is not None and old.sha256 == sha and old.skipped is None:
        # Touched, not changed: remember the new mtime, keep the chunks.
        report.unchanged += 1
        return dataclasses.replace(record, sha256=sha, kind=old.kind)
    try:
        doc = extract(path, data)
    except Skipped as exc:
        return skip(str(exc), sha)
    chunks = chunk(doc)
    if not chunks:
        return skip("no text", sha, doc.kind)
    report.chunks += len(chunks)
    if old is None:
        report.added += 1
    else:
        report.updated += 1
    return dataclasses.replace(record, sha256=sha, kind=doc.kind, chunks=chunks)


def walk(root: Path) -> Iterator[tuple[Path, os.stat_result | None, str | None]]:
    """Every file under `root` (or `root` itself), sorted, with its stat or why it has none.

    Links are followed, except back into a folder already walked; hidden entries
    (dot files, .git) and dependency folders are passed over.
    """
    try:
        st = os.stat(root)
    except OSError as exc:
        yield root, None, os_reason(exc)
        return
    if not stat.S_ISDIR(st.st_mode):
        yield (root, st, None) if stat.S_ISREG(st.st_mode) else (root, None, "not a regular file")
        return
    walked = {(st.st_dev, st.st_ino): os.path.realpath(root)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield folder, None, os_reason(exc)
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                st = os.stat(path)
            except OSError as exc:
                yield path, None, os_reason(exc, link=entry.is_symlink())
                continue
            if stat.S_ISDIR(st.st_mode):
                if entry.name in IGNORED_DIRS:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in walked:
                    target = walked[key]
                    loop = os.path.realpath(folder).startswith(target.rstrip(os.sep) + os.sep) or (
                        os.path.realpath(folder) == target
                    )
                    yield (
                        path,
                        None,
                        (
                            f"a symlink loop (it leads back to {target})"
                            if loop
                            else f"a link to a folder indexed already ({target})"
                        ),
                    )
                    continue
                walked[key] = os.path.realpath(path)
                subfolders.append(path)
            elif stat.S_ISREG(st.st_mode):
                yield path, st, None
            else:
                yield path, None, "not a regular file (a device, pipe or socket)"
        stack.extend(reversed(subfolders))


def os_reason(exc: OSError, link: bool = False) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "a broken symlink" if link else "it vanished while being indexed"
    return f"unreadable ({(exc.strerror or str(exc)).lower()})"


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"
