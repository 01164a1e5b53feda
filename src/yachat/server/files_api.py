"""`/v1/files` and `/v1/vector_stores`: the routes of Yandex's OpenAI-compatible files and
vector stores, as the `openai` client drives them (RESPONSES_API_NOTES.md §4).

Errors are the body Yandex documents for this API, `{code, message, param, type}`,
with the HTTP status the `openai` client turns into its exception classes. Objects
live in the folder the request names (`OpenAI-Project`): another folder's file or
store is not found, as in the cloud.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs

from yachat.server.vector_stores import (
    MAX_RESULTS,
    BadRequest,
    VectorStoreExpired,
    VectorStores,
    parse_chunking,
    parse_store_expiry,
)

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 128 * 2**20
# The multipart framing around the file: its headers, the purpose field, the boundaries.
MAX_UPLOAD_BYTES = MAX_FILE_BYTES + 2**16
MAX_JSON_BYTES = 2**20
READ_BYTES = 2**20
PURPOSES = {"assistants", "batch", "fine-tune", "vision", "user_data", "evals"}
FILE_EXPIRY_SECONDS = (3600, 2592000)
PREFIXES = ("/v1/files", "/v1/vector_stores")

T = TypeVar("T")


class Api(Protocol):
    vector_stores: VectorStores

    def authorize(self, header: str | None) -> None: ...


class Problem(Exception):
    """An error answer: HTTP status and Yandex's body."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = {
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            413: "invalid_request_error",
        }.get(self.status, "invalid_request_error" if self.status < 500 else "server_error")
        return {"code": self.code, "message": self.message, "param": self.param, "type": kind}


def not_found(what: str, ident: str) -> Problem:
    return Problem(HTTPStatus.NOT_FOUND, f"no {what} with the id {ident!r} in this folder", code="not_found")


def serve_files(handler: BaseHTTPRequestHandler, method: str, api: Api) -> bool:
    """Answer the request if it is one of these routes; False leaves it to the caller."""
    path, _, query = handler.path.partition("?")
    path = path.rstrip("/")
    if not any(path == p or path.startswith(p + "/") for p in PREFIXES):
        return False
    _Request(handler, method, path, parse_qs(query), api).answer()
    return True


class _Request:
    def __init__(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]], api: Api
    ) -> None:
        self.handler = handler
        self.method = method
        self.parts = path.removeprefix("/v1/").split("/")
        self.query = query
        self.api = api
        self.stores = api.vector_stores
        self.folder = (handler.headers.get("OpenAI-Project") or "").strip()
        self.consumed = False  # whether the request's body has been read

    def answer(self) -> None:
        try:
            self._authorize()
            status, body = self._route()
            self._drain()
            if isinstance(body, bytes):
                self._send(status, body, "application/octet-stream")
            else:
                self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json")
        except Problem as problem:
            self._drain()
            if problem.status >= 500:
                log.error("files api: %s", problem.message)
            self._send(
                problem.status, json.dumps(problem.body(), ensure_ascii=False).encode(), "application/json"
            )
        except (BrokenPipeError, ConnectionResetError):
            self.handler.close_connection = True
        except Exception:  # never a Python traceback on the wire
            self._drain()
            log.exception("files api: %s %s failed", self.method, "/".join(self.parts))
            failed = Problem(HTTPStatus.INTERNAL_SERVER_ERROR, "the local server failed; see its log")
            self._send(failed.status, json.dumps(failed.body()).encode(), "application/json")

    def _authorize(self) -> None:
        try:
            self.api.authorize(self.handler.headers.get("Authorization"))
        except Exception as exc:  # the chat API's own refusal, in this API's words
            raise Problem(HTTPStatus.UNAUTHORIZED, str(exc), code="unauthorized") from None

    # -- routing ---------------------------------------------------------------

    def _route(self) -> tuple[int, dict[str, Any] | bytes]:
        p, m = self.parts, self.method
        if p[0] == "files":
            if len(p) == 1 and m == "POST":
                return HTTPStatus.OK, self._upload()
            if len(p) == 1 and m == "GET":
                purpose = self._one("purpose")
                files = self.stores.files(self.folder, purpose)
                return HTTPStatus.OK, self._page(files, lambda f: f.public(), key=lambda f: f.id)
            if len(p) == 2 and m == "GET":
                return HTTPStatus.OK, self._file(p[1]).public()
            if len(p) == 2 and m == "DELETE":
                return HTTPStatus.OK, self._delete_file(p[1])
            if len(p) == 3 and p[2] == "content" and m == "GET":
                return HTTPStatus.OK, self._file(p[1]).data
        elif len(p) == 1:
            if m == "POST":
                return HTTPStatus.OK, self._create_store(self._json())
            if m == "GET":
                now = time.time()
                return HTTPStatus.OK, self._page(
                    self.stores.stores(self.folder), lambda s: s.public(now), key=lambda s: s.id
                )
        elif len(p) == 2:
            if m == "GET":
                return HTTPStatus.OK, self._store(p[1]).public(time.time())
            if m == "POST":
                return HTTPStatus.OK, self._modify_store(p[1], self._json())
            if m == "DELETE":
                self._store(p[1])
                self.stores.delete(p[1], self.folder)
                return HTTPStatus.OK, {"id": p[1], "object": "vector_store.deleted", "deleted": True}
        elif p[2] == "search" and len(p) == 3 and m == "POST":
            return HTTPStatus.OK, self._search(p[1], self._json())
        elif p[2] == "files":
            return HTTPStatus.OK, self._store_files(p[1], p[3:])
        raise Problem(HTTPStatus.NOT_FOUND, f"no such route: {m} /v1/{'/'.join(p)}", code="not_found")

    # -- files -----------------------------------------------------------------

    def _upload(self) -> dict[str, Any]:
        ctype = self.handler.headers.get("Content-Type") or ""
        if not ctype.startswith("multipart/form-data"):
            raise Problem(HTTPStatus.BAD_REQUEST, "a file is uploaded as multipart/form-data", "file")
        length = self._length()
        if length > MAX_UPLOAD_BYTES:
            self.handler.close_connection = True  # the body is not read: the connection cannot go on
            raise Problem(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a file may hold at most {MAX_FILE_BYTES} bytes", "file"
            )
        # Fed as it arrives: the body is never held whole beside the parser's own copy.
        parser = BytesFeedParser(EmailMessage, policy=policy.HTTP)
        parser.feed(b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n")
        self.consumed = True
        remaining = length
        while remaining > 0:
            piece = self.handler.rfile.read(min(READ_BYTES, remaining))
            if not piece:
                self.handler.close_connection = True
                raise Problem(HTTPStatus.BAD_REQUEST, "the upload ended before its Content-Length", "file")
            parser.feed(piece)
            remaining -= len(piece)
        message = parser.close()
        if not message.is_multipart():
            raise Problem(HTTPStatus.BAD_REQUEST, "the multipart body could not be read", "file")
        fields: dict[str, Any] = {}
        filename = ""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            if name == "file":
                filename = part.get_filename() or "upload"
            fields[name] = part.get_payload(decode=True)
        data, purpose = fields.get("file"), fields.get("purpose")
        if not isinstance(data, bytes):
            raise Problem(HTTPStatus.BAD_REQUEST, "the request has no file", "file")
        if len(data) > MAX_FILE_BYTES:
            raise Problem(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a file may hold at most {MAX_FILE_BYTES} bytes", "file"
            )
        purpose_text = purpose.decode(errors="replace").strip() if isinstance(purpose, bytes) else ""
        if purpose_text not in PURPOSES:
            allowed = ", ".join(sorted(PURPOSES))
            raise Problem(
                HTTPStatus.BAD_REQUEST, f"purpose must be one of {allowed}, got {purpose_text!r}", "purpose"
            )
        expires_in = self._file_expiry(fields)
        stored = self.stores.add_file(filename, purpose_text, data, self.folder, expires_in)
        log.info("files: %s uploaded as %s (%d bytes)", filename, stored.id, len(data))
        return stored.public()

    def _file_expiry(self, fields: dict[str, Any]) -> int | None:
        anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
        if anchor is None and seconds is None:
            return None
        low, high = FILE_EXPIRY_SECONDS
        try:
            value = int(seconds or b"")
        except ValueError:
            value = -1
        if anchor != b"created_at" or not low <= value <= high:
            raise Problem(
                HTTPStatus.BAD_REQUEST,
                f"expires_after must be {{anchor: created_at, seconds: {low}..{high}}}",
                "expires_after",
            )
        return value

    def _file(self, file_id: str) -> Any:
        try:
            return self.stores.file(file_id, self.folder)
        except KeyError:
            raise not_found("file", file_id) from None

    def _delete_file(self, file_id: str) -> dict[str, Any]:
        self._file(file_id)
        self.stores.delete_file(file_id, self.folder)
        return {"id": file_id, "object": "file", "deleted": True}

    # -- vector stores ---------------------------------------------------------

    def _store(self, store_id: str) -> Any:
        try:
            return self.stores.get(store_id, self.folder)
        except KeyError:
            raise not_found("vector store", store_id) from None

    def _create_store(self, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("name") or ""
        if not isinstance(name, str):
            raise Problem(HTTPStatus.BAD_REQUEST, "name must be text", "name")
        file_ids = data.get("file_ids") or []
        if not isinstance(file_ids, list) or not all(isinstance(f, str) for f in file_ids):
            raise Problem(HTTPStatus.BAD_REQUEST, "file_ids must be a list of file ids", "file_ids")
        metadata = _metadata(data.get("metadata"))
        with _bad_request():
            store = self.stores.create(
                name,
                file_ids,
                metadata,
                parse_store_expiry(data.get("expires_after")),
                parse_chunking(data.get("chunking_strategy")),
                self.folder,
            )
        log.info("vector store %s created (%r, %d files)", store.id, name, len(file_ids))
        return dict(store.public(time.time()))

    def _modify_store(self, store_id: str, data: dict[str, Any]) -> dict[str, Any]:
        store = self._store(store_id)
        if "name" in data:
            if not isinstance(data["name"], str | None):
                raise Problem(HTTPStatus.BAD_REQUEST, "name must be text", "name")
            store.name = data["name"] or ""
        if "metadata" in data:
            store.metadata = _metadata(data["metadata"])
        if "expires_after" in data:
            with _bad_request():
                store.expires_after = parse_store_expiry(data["expires_after"])
        return dict(store.public(time.time()))

    def _search(self, store_id: str, data: dict[str, Any]) -> dict[str, Any]:
        self._store(store_id)
        raw = data.get("query")
        queries = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(queries, list)
            or not queries
            or not all(isinstance(q, str) and q.strip() for q in queries)
        ):
            raise Problem(HTTPStatus.BAD_REQUEST, "query must be a non-empty text or list of texts", "query")
        limit = data.get("max_num_results", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_RESULTS:
            raise Problem(
                HTTPStatus.BAD_REQUEST,
                f"max_num_results must be between 1 and {MAX_RESULTS}",
                "max_num_results",
            )
        best: dict[tuple[str, str], Any] = {}
        try:
            for query in queries:
                for hit in self.stores.search(store_id, query, limit):
                    key = (hit.file_id, hit.text)
                    if key not in best or best[key].score < hit.score:
                        best[key] = hit
        except VectorStoreExpired:
            raise Problem(
                HTTPStatus.BAD_REQUEST, f"the vector store {store_id!r} has expired", "vector_store_id"
            ) from None
        hits = sorted(best.values(), key=lambda h: h.score, reverse=True)[:limit]
        return {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [
                {
                    "file_id": h.file_id,
                    "filename": h.filename,
                    "score": h.score,
                    "attributes": {},
                    "content": [{"type": "text", "text": h.text}],
                }
                for h in hits
            ],
            "has_more": False,
            "next_page": None,
        }

    def _store_files(self, store_id: str, rest: Sequence[str]) -> dict[str, Any]:
        self._store(store_id)
        m = self.method
        if not rest and m == "POST":
            data = self._json()
            file_id = data.get("file_id")
            if not isinstance(file_id, str) or not file_id:
                raise Problem(HTTPStatus.BAD_REQUEST, "file_id is required", "file_id")
            attributes = data.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise Problem(HTTPStatus.BAD_REQUEST, "attributes must be an object", "attributes")
            with _bad_request():
                entry = self.stores.add_to_store(
                    store_id, file_id, parse_chunking(data.get("chunking_strategy")), attributes, self.folder
                )
            return dict(entry.public(store_id))
        if not rest and m == "GET":
            status = self._one("filter")
            entries = self.stores.store_files(store_id, self.folder, status)
            return self._page(entries, lambda e: e.public(store_id), key=lambda e: e.file_id)
        if len(rest) == 1 and m in ("GET", "DELETE"):
            try:
                entry = self.stores.store_file(store_id, rest[0], self.folder)
                if m == "GET":
                    return dict(entry.public(store_id))
                self.stores.remove_from_store(store_id, rest[0], self.folder)
            except KeyError:
                raise not_found("file in this vector store", rest[0]) from None
            return {"id": rest[0], "object": "vector_store.file.deleted", "deleted": True}
        raise Problem(
            HTTPStatus.NOT_FOUND, f"no such route: {m} /v1/{'/'.join(self.parts)}", code="not_found"
        )

    # -- paging, bodies, replies -----------------------------------------------

    def _one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def _page(
        self, items: list[T], public: Callable[[T], dict[str, Any]], key: Callable[[T], str]
    ) -> dict[str, Any]:
        """A list page as the `openai` client's cursor pages read it: newest first unless order=asc."""
        order = self._one("order") or "desc"
        if order not in ("asc", "desc"):
            raise Problem(HTTPStatus.BAD_REQUEST, "order must be asc or desc", "order")
        try:
            limit = int(self._one("limit") or 20)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise Problem(HTTPStatus.BAD_REQUEST, "limit must be between 1 and 100", "limit")
        ordered = items if order == "asc" else list(reversed(items))
        ids = [key(i) for i in ordered]
        if after := self._one("after"):
            ordered = ordered[ids.index(after) + 1 :] if after in ids else []
        elif before := self._one("before"):
            ordered = ordered[: ids.index(before)] if before in ids else []
        page = ordered[:limit]
        data = [public(i) for i in page]
        return {
            "object": "list",
            "data": data,
            "first_id": key(page[0]) if page else None,
            "last_id": key(page[-1]) if page else None,
            "has_more": len(ordered) > limit,
        }

    def _length(self) -> int:
        try:
            return int(self.handler.headers.get("Content-Length") or 0)
        except ValueError:
            raise Problem(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None

    def _body(self, limit: int) -> bytes:
        length = self._length()
        if length > limit:
            self.handler.close_connection = True  # the body is not read: the connection cannot go on
            raise Problem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the request is larger than {limit} bytes")
        self.consumed = True
        return self.handler.rfile.read(length)

    def _drain(self) -> None:
        """Read a body no route read, so an early answer leaves a keep-alive connection usable."""
        if self.consumed:
            return
        self.consumed = True
        try:
            length = self._length()
        except Problem:
            length = -1
        if length > MAX_JSON_BYTES or length < 0:
            self.handler.close_connection = True  # cheaper to hang up than to read it
        elif length:
            self.handler.rfile.read(length)

    def _json(self) -> dict[str, Any]:
        body = self._body(MAX_JSON_BYTES)
        if not body:
            return {}
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Problem(HTTPStatus.BAD_REQUEST, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise Problem(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        return data

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-request-id", str(uuid.uuid4()))
        h.end_headers()
        h.wfile.write(data)


def _metadata(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if (
        not isinstance(raw, dict)
        or len(raw) > 16
        or not all(
            isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512
            for k, v in raw.items()
        )
    ):
        raise Problem(
            HTTPStatus.BAD_REQUEST,
            "metadata must be at most 16 text pairs (keys up to 64, values up to 512 characters)",
            "metadata",
        )
    return dict(raw)


@contextlib.contextmanager
def _bad_request() -> Iterator[None]:
    """The store's BadRequest as a 400 with its parameter; an unknown store as a 404."""
    try:
        yield
    except BadRequest as exc:
        raise Problem(HTTPStatus.BAD_REQUEST, exc.message, exc.param) from None
    except VectorStoreExpired:
        raise Problem(HTTPStatus.BAD_REQUEST, "the vector store has expired", "vector_store_id") from None
    except KeyError as exc:
        raise not_found("vector store", str(exc.args[0] if exc.args else "")) from None
