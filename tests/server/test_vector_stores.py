"""Files and vector stores on the local server, through the official `openai` client over real HTTP
against a real `yachat serve`: upload, index (polled), search, delete, and the errors."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from yachat.server.process import ServerProcess
from yachat.server.vector_stores import ID_LENGTH, ID_PREFIX

from ..lifetimes import wait_until

FOLDER = "b1gfolder"

BALI = (
    "# Bali\n\nBali is an Indonesian island known for its volcanic mountains, rice terraces, beaches "
    "and coral reefs. Surfers come for the waves at Uluwatu; the temples of Ubud draw the rest.\n"
)
KAZAN = (
    "# Kazan\n\nKazan is the capital of Tatarstan, a city on the Volga river. Its white kremlin holds "
    "the Kul Sharif mosque and the Annunciation cathedral side by side.\n"
)
TAXES = (
    "# Expense reports\n\nReceipts for travel must be filed within thirty days. The accounting "
    "department reimburses hotel and train costs, never minibar charges.\n"
)


def client_for(server: ServerProcess, key: str | None = None, folder: str = FOLDER) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.http_url, api_key=key or server.token, project=folder, max_retries=0)


def upload(client: openai.OpenAI, name: str, text: str | bytes) -> Any:
    data = text.encode() if isinstance(text, str) else text
    return client.files.create(file=(name, data), purpose="assistants")


def indexed(client: openai.OpenAI, store_id: str) -> Any:
    """The store once its indexing is over, polled as a client polls the cloud."""
    seen: list[Any] = []

    def done() -> bool:
        seen.append(client.vector_stores.retrieve(store_id))
        return bool(seen[-1].status != "in_progress")

    assert wait_until(done, 30, step=0.05), f"still indexing: {seen[-1]}"
    return seen[-1]


@pytest.fixture(scope="module")
def store(server: ServerProcess) -> tuple[openai.OpenAI, Any, dict[str, str]]:
    client = client_for(server)
    files = {name: upload(client, name, text).id for name, text in
             (("bali.md", BALI), ("kazan.md", KAZAN), ("expenses.md", TAXES))}  # fmt: skip
    created = client.vector_stores.create(
        name="travel", file_ids=list(files.values()), metadata={"assistant": "7"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )  # fmt: skip
    assert created.file_counts.total == 3
    assert created.status in ("in_progress", "completed")
    return client, indexed(client, created.id), files


def test_a_store_indexes_its_files_and_is_found_by_meaning(store: Any) -> None:
    client, vs, files = store
    assert vs.status == "completed"
    assert vs.file_counts.completed == 3 and vs.file_counts.failed == 0
    assert vs.name == "travel" and vs.metadata == {"assistant": "7"}
    assert vs.expires_after.days == 7 and vs.expires_at == vs.last_active_at + 7 * 86400
    assert vs.id.startswith(ID_PREFIX) and len(vs.id) == len(ID_PREFIX) + ID_LENGTH
    # No word of the question is in the right file: only meaning finds it.
    page = client.vector_stores.search(vs.id, query="where can I ride ocean waves", max_num_results=2)
    hits = list(page)
    assert hits[0].file_id == files["bali.md"] and hits[0].filename == "bali.md"
    assert hits[0].content[0].type == "text" and "Uluwatu" in hits[0].content[0].text
    assert 0 < hits[-1].score <= hits[0].score <= 1
    assert len(hits) == 2
    russian = list(client.vector_stores.search(vs.id, query="город на большой реке", max_num_results=1))
    assert russian[0].file_id == files["kazan.md"]


def test_files_are_listed_read_and_their_bytes_come_back(store: Any) -> None:
    client, _vs, files = store
    listed = {f.id: f for f in client.files.list(purpose="assistants")}
    assert set(files.values()) <= set(listed)
    one = client.files.retrieve(files["kazan.md"])
    assert (one.filename, one.purpose, one.bytes) == ("kazan.md", "assistants", len(KAZAN.encode()))
    assert client.files.content(files["kazan.md"]).read() == KAZAN.encode()
    in_store = client.vector_stores.files.list(store[1].id)
    assert {f.id for f in in_store} == set(files.values())
    assert all(
        f.status == "completed" and f.chunking_strategy.static.max_chunk_size_tokens == 800 for f in in_store
    )


def test_a_file_added_and_removed_is_searched_then_not(store: Any) -> None:
    client, vs, _files = store
    extra = upload(
        client, "Заметки о чае.txt", "Пуэр заваривают кипятком; улун — водой около девяноста градусов."
    )
    attached = client.vector_stores.files.create_and_poll(
        file_id=extra.id, vector_store_id=vs.id, poll_interval_ms=50
    )
    assert attached.status == "completed"
    assert client.vector_stores.files.retrieve(extra.id, vector_store_id=vs.id).usage_bytes > 0
    hit = next(iter(client.vector_stores.search(vs.id, query="как заваривать улун", max_num_results=1)))
    assert (hit.file_id, hit.filename) == (extra.id, "Заметки о чае.txt")

    deleted = client.vector_stores.files.delete(extra.id, vector_store_id=vs.id)
    assert deleted.deleted
    hits = client.vector_stores.search(vs.id, query="как заваривать улун", max_num_results=50)
    assert extra.id not in {h.file_id for h in hits}
    assert client.files.delete(extra.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(extra.id)


def test_a_deleted_store_is_gone(server: ServerProcess) -> None:
    client = client_for(server)
    vs = client.vector_stores.create(name="short-lived")
    assert indexed(client, vs.id).status == "completed"  # no files: nothing to wait for
    assert vs.id in {s.id for s in client.vector_stores.list()}
    assert client.vector_stores.delete(vs.id).deleted
    assert vs.id not in {s.id for s in client.vector_stores.list()}
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(vs.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search(vs.id, query="anything")


def test_a_file_with_no_text_fails_in_the_store_and_says_why(server: ServerProcess) -> None:
    client = client_for(server)
    binary = upload(client, "photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    vs = client.vector_stores.create(file_ids=[binary.id])
    done = indexed(client, vs.id)
    assert (done.status, done.file_counts.failed) == ("completed", 1)
    entry = client.vector_stores.files.retrieve(binary.id, vector_store_id=vs.id)
    assert entry.status == "failed" and entry.last_error is not None
    assert entry.last_error.code == "unsupported_file"
    client.vector_stores.delete(vs.id)


def test_without_embeddings_the_words_are_searched(no_embeddings_server: ServerProcess) -> None:
    client = client_for(no_embeddings_server)
    ids = [upload(client, name, text).id for name, text in (("bali.md", BALI), ("kazan.md", KAZAN))]
    vs = client.vector_stores.create(file_ids=ids)
    indexed(client, vs.id)
    hits = list(client.vector_stores.search(vs.id, query="the Volga kremlin", max_num_results=5))
    assert hits[0].filename == "kazan.md"  # "the" is in Bali's too, and ranks it low
    assert hits[0].score > 2 * hits[1].score
    assert client.vector_stores.search(vs.id, query="submarine telescope").data == []


def expect(
    error: type[openai.APIStatusError], call: Callable[[], Any], words: str, param: str | None = None
) -> None:
    with pytest.raises(error) as caught:
        call()
    assert words in caught.value.message
    body = caught.value.body
    assert isinstance(body, dict) and set(body) == {"code", "message", "param", "type"}
    if param is not None:
        assert caught.value.param == param


def test_errors_are_yandex_bodies_with_their_statuses(server: ServerProcess, store: Any) -> None:
    client, vs, files = store
    expect(openai.AuthenticationError, lambda: client_for(server, key="wrong").files.list(), "token")
    expect(openai.NotFoundError, lambda: client.vector_stores.retrieve("fvt" + "0" * 17), "no vector store")
    expect(openai.NotFoundError, lambda: client.files.retrieve("fvtnosuchfile"), "no file")
    expect(openai.BadRequestError, lambda: client.vector_stores.create(file_ids=["fvtnosuchfile"]),
           "upload it first", "file_ids")  # fmt: skip
    expect(openai.BadRequestError, lambda: client.vector_stores.search(vs.id, query="x", max_num_results=51),
           "max_num_results", "max_num_results")  # fmt: skip
    expect(openai.BadRequestError, lambda: client.files.create(file=("a.txt", b"a"), purpose="nonsense"),  # type: ignore[arg-type]
           "purpose", "purpose")  # fmt: skip
    expect(openai.BadRequestError, lambda: client.vector_stores.create(
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}),
        "max_chunk_size_tokens")  # fmt: skip
    expect(openai.NotFoundError, lambda: client.vector_stores.files.retrieve("fvtnone", vector_store_id=vs.id),
           "no file in this vector store")  # fmt: skip
    # Another folder sees none of this folder's objects.
    other = client_for(server, folder="b1gother")
    expect(openai.NotFoundError, lambda: other.vector_stores.retrieve(vs.id), "no vector store")
    expect(openai.NotFoundError, lambda: other.files.retrieve(files["bali.md"]), "no file")
    assert vs.id not in {s.id for s in other.vector_stores.list()}
    # The connection stays usable after each refusal: the next call on it succeeds.
    assert client.vector_stores.retrieve(vs.id).id == vs.id


def test_a_big_upload_comes_back_whole(server: ServerProcess) -> None:
    client = client_for(server)
    data = bytes(range(256)) * (8 * 2**20 // 256)  # 8 MB, every byte value, CR and LF among them
    started = time.monotonic()
    uploaded = client.files.create(file=("blob.bin", data), purpose="assistants")
    seconds = time.monotonic() - started
    assert uploaded.bytes == len(data)
    assert client.files.content(uploaded.id).read() == data
    client.files.delete(uploaded.id)
    assert seconds < 30


def test_an_upload_over_128_mb_is_refused_before_it_is_read(server: ServerProcess) -> None:
    url = urlsplit(server.http_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        conn.putrequest("POST", "/v1/files")
        conn.putheader("Authorization", f"Bearer {server.token}")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(200 * 2**20))
        conn.endheaders()  # and not a byte of the 200 MB: the answer comes first
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 413
    assert body == {
        "code": None,
        "message": "a file may hold at most 134217728 bytes",
        "param": "file",
        "type": "invalid_request_error",
    }
