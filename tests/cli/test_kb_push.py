"""`yachat kb push`: an assistant's knowledge copied to a vector store on the local server,
run as the real command; what landed there is checked through the official `openai` client."""

from __future__ import annotations

import re
from pathlib import Path

import openai

from yachat.server.process import ServerProcess

from .conftest import Yachat

LOCAL_FOLDER = "local"  # the folder yachat names on the local backend


def notes_in(folder: Path) -> Path:
    notes = folder / "notes"
    (notes / "travel").mkdir(parents=True)
    (notes / "travel" / "bali.md").write_text("# Bali\n\nSurfers ride the waves at Uluwatu.\n")
    (notes / "travel" / "kazan.md").write_text("# Kazan\n\nThe white kremlin stands on the Volga.\n")
    (notes / "tea.txt").write_text("Oolong is brewed at ninety degrees, puer with boiling water.\n")
    (notes / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # skipped locally: not sent
    return notes


def client_for(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.http_url, api_key=server.token, project=LOCAL_FOLDER, max_retries=0)


def store_id_in(text: str) -> str:
    found = re.search(r"vector store (fvt\w+)", text)
    assert found, text
    return found.group(1)


def test_push_uploads_only_what_changed_and_remove_removes_it_there(
    yachat: Yachat, server: ServerProcess, tmp_path: Path
) -> None:
    notes = notes_in(tmp_path)
    extra = tmp_path / "extra.md"
    extra.write_text("# Expenses\n\nReceipts are filed within thirty days.\n")
    assert yachat("kb", "add", str(notes), str(extra), "--words-only").returncode == 0
    client = client_for(server)

    first = yachat("kb", "push")
    assert first.returncode == 0, first.stderr
    assert "yachat: uploading 4 files…" in first.stderr  # progress, on stderr
    assert " 4 files uploaded (0.0 MB), 0 unchanged, 0 removed there; completed in " in first.stdout
    assert " to a new vector store fvt" in first.stdout
    store_id = store_id_in(first.stdout)
    remote = client.vector_stores.retrieve(store_id)
    assert (remote.status, remote.file_counts.completed, remote.file_counts.total) == ("completed", 4, 4)
    assert remote.metadata.get("yachat_assistant")
    files = {client.files.retrieve(f.id).filename: f.id for f in client.vector_stores.files.list(store_id)}
    assert set(files) == {"bali.md", "kazan.md", "tea.txt", "extra.md"}
    hit = next(iter(client.vector_stores.search(store_id, query="kremlin Volga", max_num_results=1)))
    assert hit.file_id == files["kazan.md"]

    again = yachat("kb", "push")
    assert again.returncode == 0, again.stderr
    assert " 0 files uploaded (0.0 MB), 4 unchanged, 0 removed there; completed" in again.stdout
    assert store_id_in(again.stdout) == store_id
    assert "uploading" not in again.stderr

    (notes / "travel" / "kazan.md").write_text("# Kazan\n\nThe Kul Sharif mosque has eight minarets.\n")
    changed = yachat("kb", "push")
    assert changed.returncode == 0, changed.stderr
    assert " 1 file uploaded (0.0 MB), 3 unchanged, 0 removed there; completed" in changed.stdout
    now = {client.files.retrieve(f.id).filename: f.id for f in client.vector_stores.files.list(store_id)}
    assert now["kazan.md"] != files["kazan.md"]
    assert {k: v for k, v in now.items() if k != "kazan.md"} == {
        k: v for k, v in files.items() if k != "kazan.md"
    }
    try:
        client.files.retrieve(files["kazan.md"])
        raise AssertionError("the replaced upload is still there")
    except openai.NotFoundError:
        pass
    hit = next(iter(client.vector_stores.search(store_id, query="minarets", max_num_results=1)))
    assert hit.file_id == now["kazan.md"]

    (notes / "tea.txt").write_text("Green tea wants water at eighty degrees.\n")
    yachat("kb", "reindex", "--words-only")
    listed = yachat("kb", "list")
    assert listed.returncode == 0, listed.stderr
    cloud = [line for line in listed.stdout.splitlines() if "cloud:" in line]
    assert len(cloud) == 1
    assert cloud[0].startswith(f"  cloud: vector store {store_id}, 4 files pushed ")
    assert cloud[0].endswith(": completed (4 indexed); 1 file changed since")

    removed = yachat("kb", "remove", str(extra))
    assert removed.returncode == 0, removed.stderr
    assert f"removed 1 file from the cloud copy (vector store {store_id})" in removed.stdout
    assert "extra.md" not in {
        client.files.retrieve(f.id).filename for f in client.vector_stores.files.list(store_id)
    }
    try:
        client.files.retrieve(files["extra.md"])
        raise AssertionError("the removed file is still there")
    except openai.NotFoundError:
        pass

    gone = yachat("kb", "remove", "--cloud")
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout == f"removed the cloud copy: vector store {store_id} and its 3 files\n"
    try:
        client.vector_stores.retrieve(store_id)
        raise AssertionError("the vector store is still there")
    except openai.NotFoundError:
        pass
    assert not set(now.values()) & {f.id for f in client.files.list()}
    assert "cloud:" not in yachat("kb", "list").stdout


def test_a_copy_deleted_there_is_made_again(yachat: Yachat, server: ServerProcess, tmp_path: Path) -> None:
    notes = notes_in(tmp_path)
    assert yachat("kb", "add", str(notes), "--words-only").returncode == 0
    first = yachat("kb", "push")
    assert first.returncode == 0, first.stderr
    old = store_id_in(first.stdout)
    client = client_for(server)
    client.vector_stores.delete(old)

    listed = yachat("kb", "list")
    assert f"  cloud: vector store {old}, 3 files pushed " in listed.stdout
    assert listed.stdout.rstrip().endswith(": deleted or expired there; `yachat kb push` makes a new one")
    again = yachat("kb", "push")
    assert again.returncode == 0, again.stderr
    assert " to a new vector store " in again.stdout and " 3 files uploaded " in again.stdout
    new = store_id_in(again.stdout)
    assert new != old and client.vector_stores.retrieve(new).file_counts.completed == 3


def test_push_mistakes_are_one_line(yachat: Yachat, server: ServerProcess, tmp_path: Path) -> None:
    nothing = yachat("kb", "push")
    assert nothing.returncode != 0
    assert nothing.stderr.strip().endswith(
        "there is no knowledge to push; add some with `yachat kb add PATH`."
    )
    assert len(nothing.stderr.strip().splitlines()) == 1
    no_copy = yachat("kb", "remove", "--cloud")
    assert no_copy.returncode != 0 and "has no cloud copy; `yachat kb push` makes one." in no_copy.stderr
    both = yachat("kb", "remove", str(tmp_path), "--cloud")
    assert both.returncode != 0 and "not both" in both.stderr
