"""Knowledge on the cloud code path, for real: the SDK speaks TLS with an API key to the
local server as it would to Yandex Cloud, and `kb add` stores the passages' vectors from
`text-search-doc`; `ask` then finds a file by meaning, with `text-search-query`."""

from __future__ import annotations

from pathlib import Path

from yachat.server.process import ServerProcess

from ..corpus import make_corpus
from ..security.test_secrets import cloud_env, tls_server, yachat

__all__ = ["tls_server"]  # the fixture, used by name


def test_kb_add_embeds_with_the_clouds_models_and_ask_finds_by_meaning(
    tls_server: tuple[ServerProcess, Path], tmp_path: Path
) -> None:
    server, cert = tls_server
    env = cloud_env(tmp_path / "home", server, cert)
    notes = make_corpus(tmp_path)
    added = yachat(env, "kb", "add", str(notes))
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[-1].startswith(f"embedded 13 passages with cloud · {server.address} in ")

    asked = yachat(env, "ask", "Где хранится старый чайник для праздников?")
    assert asked.returncode == 0, asked.stderr
    lines = asked.stderr.splitlines()
    listed = lines[lines.index("sources:") + 1 :][:2]
    assert {Path(line.split("] ")[1].split(":")[0]).name for line in listed} == {
        "samovar-cp1251.txt",
        "samovar-koi8.txt",
    }
