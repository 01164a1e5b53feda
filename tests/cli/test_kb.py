"""`yachat kb ...` and the sources `yachat ask` prints, run as the real command."""

from __future__ import annotations

from pathlib import Path

from ..corpus import make_corpus
from ..support import Script
from .conftest import Yachat


def test_kb_add_list_reindex_remove(yachat: Yachat, tmp_path: Path) -> None:
    notes = make_corpus(tmp_path)
    added = yachat("kb", "add", str(notes))
    assert added.returncode == 0, added.stderr
    assert "yachat: indexing 15 files…" in added.stderr  # progress, on stderr
    assert added.stdout.startswith("indexed 8 new and 0 changed files (")
    assert "into Default's knowledge" in added.stdout
    assert f"  {notes / 'docs' / 'scan.pdf'}: a PDF with no text layer" in added.stdout
    assert f"  {notes / 'huge.log'}: too big (200 MB; the limit is 32 MB)" in added.stdout
    # Then the passages' vectors, from the local server's text embeddings.
    assert "yachat: embedding 13 passages…" in added.stderr
    assert added.stdout.splitlines()[-1].startswith("embedded 13 passages with local · server · ")

    listed = yachat("kb", "list", "--files")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[:2] == [
        "Default:",
        f"  {notes}  8 files, 13 passages (13 with vectors), 7 skipped",
    ]
    assert f"    {notes / 'home' / 'vault.md'}  markdown, 1 passage" in listed.stdout
    assert f"    {notes / 'data.dat'}  skipped: binary (not a text file)" in listed.stdout

    again = yachat("kb", "reindex")
    assert again.returncode == 0
    assert again.stdout.startswith("indexed 0 new and 0 changed files (0 passages) in ")

    removed = yachat("kb", "remove", str(notes))
    assert removed.returncode == 0 and removed.stdout == f"removed {notes} (8 files, 13 passages)\n"
    empty = yachat("kb", "list")
    assert empty.stdout == "" and "no knowledge yet" in empty.stderr


def test_kb_words_only_makes_no_vectors_and_reindex_embeds_what_has_none(
    yachat: Yachat, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    added = yachat("kb", "add", str(notes), "--words-only")
    assert added.returncode == 0, added.stderr
    assert "embed" not in added.stdout + added.stderr
    assert yachat("kb", "list").stdout.splitlines()[1] == f"  {notes}  8 files, 13 passages, 7 skipped"
    again = yachat("kb", "reindex")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("indexed 0 new and 0 changed files")  # no file was read again
    assert again.stdout.splitlines()[-1].startswith("embedded 13 passages with local · server · ")
    assert "(13 with vectors)" in yachat("kb", "list").stdout


def test_kb_mistakes_are_one_line(yachat: Yachat, tmp_path: Path) -> None:
    missing = yachat("kb", "add", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert missing.stderr == f"yachat: {tmp_path / 'nowhere'} does not exist; check the path.\n"
    unknown = yachat("kb", "add", str(tmp_path), "--assistant", "Nobody")
    assert unknown.returncode == 1 and unknown.stderr.startswith("yachat: no assistant is named 'Nobody'")
    not_added = yachat("kb", "remove", str(tmp_path))
    assert not_added.returncode == 1 and "is not in this assistant's knowledge" in not_added.stderr
    nothing = yachat("kb", "reindex")
    assert nothing.returncode == 1 and "add some with `yachat kb add PATH`" in nothing.stderr


def test_ask_prints_the_sources_after_the_answer(yachat: Yachat, script: Script, tmp_path: Path) -> None:
    notes = make_corpus(tmp_path)
    assert yachat("kb", "add", str(notes)).returncode == 0
    script.set({"match": "combination", "answer": "It is 7319-ALPHA [1]."})
    asked = yachat("ask", "What is the vault combination?")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == "It is 7319-ALPHA [1].\n"  # stdout holds the answer alone
    lines = asked.stderr.splitlines()
    start = lines.index("sources:")
    assert lines[start + 1] == f"  [1] {notes / 'home' / 'vault.md'}:5 — Household › Safe"
    assert lines[-2].startswith("[tokens: ") and lines[-1].startswith("[thread ")
    # Run from inside the notes, the paths are relative: short, and still open from there.
    inside = yachat("ask", "the vault combination again?", cwd=str(notes))
    assert "  [1] home/vault.md:5 — Household › Safe" in inside.stderr.splitlines()


def test_threads_show_lists_each_answers_sources_under_it(
    yachat: Yachat, script: Script, tmp_path: Path
) -> None:
    notes = make_corpus(tmp_path)
    assert yachat("kb", "add", str(notes)).returncode == 0
    script.set({"match": "combination", "answer": "It is 7319-ALPHA [1]."}, answer="No idea.")
    # First a question the notes say nothing about: its answer has no sources.
    first = yachat("ask", "Qwxyz?")
    assert first.returncode == 0 and "sources:" not in first.stderr
    thread_id = first.stderr.split("[thread ")[1].split("]")[0]
    asked = yachat("ask", "--thread", thread_id, "What is the vault combination?")
    assert asked.returncode == 0, asked.stderr

    shown = yachat("threads", "show", thread_id)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    printed = asked.stderr.splitlines()
    block = printed[printed.index("sources:") : -2]  # up to the [tokens] and [thread] lines
    assert block[1] == f"  [1] {notes / 'home' / 'vault.md'}:5 — Household › Safe"
    # Right under its answer, as `ask` printed them; plain text, this not being a terminal.
    assert lines[-len(block) - 1 :] == ["It is 7319-ALPHA [1].", *block]
    assert lines.count("sources:") == 1 and lines[lines.index("No idea.") + 1] == ""
    assert "\x1b" not in shown.stdout
