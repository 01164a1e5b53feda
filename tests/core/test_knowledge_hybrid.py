"""Hybrid retrieval through the real SDK: the local server's text embeddings (a real
multilingual-e5-small) give passages vectors, and a question that shares no word with
the file that answers it still finds that file. Without embeddings, retrieval is by words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from yachat.core.chat import ChatCore
from yachat.core.events import RunEvent, SourcesFound
from yachat.core.knowledge.hybrid import meaning_query
from yachat.core.knowledge.indexer import add_paths
from yachat.server.process import ServerProcess

from ..corpus import make_corpus
from ..support import Script, local_settings


def ask(core: ChatCore, text: str) -> tuple[RunEvent, list[RunEvent]]:
    updates: list[RunEvent] = []
    thread_id = core.new_thread().id

    async def main() -> RunEvent:
        return await core.send(thread_id, text, updates.append)

    return anyio.run(main), updates


def sources(updates: list[RunEvent]) -> list[str]:
    found = [u for u in updates if isinstance(u, SourcesFound)]
    return [Path(p.path).name for p in found[0].sources] if found else []


def embedder_key(core: ChatCore) -> str | None:
    async def main() -> str | None:
        embedder = await core.embedder()
        return embedder.key if embedder else None

    return anyio.run(main)


def with_notes(core: ChatCore, tmp_path: Path) -> tuple[int, Path]:
    """The test corpus in the default assistant's knowledge, indexed by words: (assistant id, folder)."""
    notes = make_corpus(tmp_path)
    assistant_id = core.store.default_assistant().id
    add_paths(core.store, assistant_id, [notes])
    return assistant_id, notes


def vectors(core: ChatCore) -> dict[int, bytes]:
    return {r[0]: bytes(r[1]) for r in core.store._db.read("SELECT chunk_id, vector FROM kb_vectors")}


def test_a_question_sharing_no_word_with_the_file_finds_it_by_meaning(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    assistant_id, _ = with_notes(core, tmp_path)
    script.set({"match": "", "echo": True})
    # The notes say "самовар стоит на полке в кладовой ... перед праздником": no word of the
    # question is in any file (not even "праздников": words are not stemmed).
    question = "Где хранится старый чайник для праздников?"
    assert core.store.retrieve(assistant_id, [question]) == []

    final, updates = ask(core, question)
    assert set(sources(updates)[:2]) == {"samovar-cp1251.txt", "samovar-koi8.txt"}
    assert "кладовой" in final.text  # the passage was in the prompt the model got

    key = embedder_key(core)
    assert key is not None and key.startswith("local:text-search-doc:") and key.endswith(":384")
    chunks = core.store._db.read("SELECT count(*) FROM kb_chunks")[0][0]
    stored = vectors(core)
    assert len(stored) == chunks and all(len(v) == 384 * 4 for v in stored.values())

    # Found by words, ranked by meaning too: the planted fact still comes first.
    _, updates = ask(core, "What is the vault combination?")
    assert sources(updates)[0] == "vault.md"


def test_small_talk_is_given_no_passages(core: ChatCore, script: Script, tmp_path: Path) -> None:
    with_notes(core, tmp_path)
    script.set({"match": "", "answer": "Hi!"})
    for text in ("hello", "thanks, that helps", "как дела?"):
        _, updates = ask(core, text)
        assert sources(updates) == [], text


def test_passages_are_embedded_once_and_again_only_when_their_file_changes(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    assistant_id, notes = with_notes(core, tmp_path)
    script.set({"match": "", "answer": "ok"})

    progress: list[tuple[int, int]] = []
    done = anyio.run(core.embed_knowledge, assistant_id, lambda d, t: progress.append((d, t)))
    assert done and progress[-1] == (done, done)
    before = vectors(core)
    assert anyio.run(core.embed_knowledge, assistant_id) == 0  # nothing left to embed

    (notes / "travel.md").write_text(
        "# Travel notes\n\n## Perm\n\nThe Perm ballet school teaches dance.\n", "utf-8"
    )
    add_paths(core.store, assistant_id, [notes])
    assert anyio.run(core.embed_knowledge, assistant_id) == 1  # only the changed file's passage
    after = vectors(core)
    travel = {r[0] for r in core.store._db.read(
        "SELECT c.id FROM kb_chunks c JOIN kb_files f ON f.id = c.file_id WHERE f.path LIKE '%travel.md'"
    )}  # fmt: skip
    assert {i: v for i, v in after.items() if i not in travel} == {
        i: v for i, v in before.items() if i in after and i not in travel
    }
    _, updates = ask(core, "Where can one study dance?")
    assert sources(updates)[0] == "travel.md"


@pytest.fixture
def words_only_core(
    no_embeddings_server: ServerProcess, tmp_path: Path, script: Script
) -> Iterator[ChatCore]:
    script.set()
    (tmp_path / "words-only").mkdir()
    core = ChatCore.open_store(local_settings(no_embeddings_server, tmp_path / "words-only"))
    yield core
    core.store.close()


def test_without_embeddings_retrieval_is_by_words_and_nothing_is_faked(
    words_only_core: ChatCore, script: Script, tmp_path: Path
) -> None:
    core = words_only_core
    with_notes(core, tmp_path)
    script.set({"match": "", "answer": "ok"})
    assert embedder_key(core) is None
    assert anyio.run(core.embed_knowledge) is None
    _, updates = ask(core, "Где хранится старый чайник для праздников?")
    assert sources(updates) == []
    _, updates = ask(core, "What is the vault combination?")
    assert sources(updates) == ["vault.md"]
    assert vectors(core) == {}


def test_a_new_topic_in_the_same_thread_is_not_given_the_last_topics_passages(
    core: ChatCore, script: Script, tmp_path: Path
) -> None:
    with_notes(core, tmp_path)
    script.set({"match": "", "answer": "ok"})
    thread_id = core.new_thread().id
    found = []
    for text in ("Где хранится старый чайник для праздников?", "What is the vault combination?"):
        updates: list[RunEvent] = []
        anyio.run(core.send, thread_id, text, updates.append)
        found.append(sources(updates))
    assert set(found[0][:2]) == {"samovar-cp1251.txt", "samovar-koi8.txt"}
    assert found[1] == ["vault.md"]


def test_a_short_follow_up_is_read_with_the_question_before_it() -> None:
    before = "Where is the samovar kept?"
    assert meaning_query(["and when is it cleaned?", "On a shelf.", before]) == "and when is it cleaned?"
    assert meaning_query(["and in Sochi?", "On a shelf.", before]) == f"{before}\nand in Sochi?"
    assert meaning_query(["and in Sochi?"]) == "and in Sochi?"


def test_the_passages_without_a_vector_are_counted_again_only_when_the_knowledge_changes(
    core: ChatCore, script: Script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count is a scan of every passage (27 ms at 100,000): not before every answer."""
    assistant_id, notes = with_notes(core, tmp_path)
    script.set({"match": "", "answer": "ok"})
    counted: list[int] = []
    count = core.store.count_chunks_to_embed

    def counting(embedder: str, assistant: int | None) -> int:
        counted.append(count(embedder, assistant))
        return counted[-1]

    monkeypatch.setattr(core.store, "count_chunks_to_embed", counting)
    ask(core, "What is the vault combination?")  # counts, and embeds the 13 passages inline
    ask(core, "And the samovar?")  # counts once more: the vectors changed
    assert counted and counted[0] > 0 and counted[-1] == 0
    before = len(counted)
    for question in ("And the vault?", "And the samovar, again?"):
        ask(core, question)
    assert len(counted) == before  # nothing changed: the count is remembered

    (notes / "travel.md").write_text(
        "# Travel notes\n\n## Perm\n\nThe Perm ballet school teaches dance.\n", "utf-8"
    )
    add_paths(core.store, assistant_id, [notes])
    _, updates = ask(core, "Where can one study dance?")
    assert len(counted) > before and counted[before] == 1  # the changed file's passage, seen
    assert sources(updates)[0] == "travel.md"  # embedded inline, found by meaning and words
