"""`web_search` answered from a small corpus of pages the server ships: never the network.

A page matches by the words it shares with the query (title words count double).
`filters.allowed_domains` keeps the pages of those domains (and their subdomains);
`user_location.region` (a Yandex region code) puts that region's pages first and
drops other regions' local pages; `search_context_size` sets how many pages, and
how much of each, the model reads: low 1, medium 3, high 5.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

PAGES_FOR_SIZE = {"low": 1, "medium": 3, "high": 5}
CHARS_FOR_SIZE = {"low": 160, "medium": 400, "high": 2000}
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to say what a page is about.
_STOP_WORDS = (
    "the a an and or of in on at to is are was be what who how where when which with for about from "
    "do does did i you me my it its this that these those there please tell today"
)
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    text: str
    region: str = ""

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


@cache
def corpus() -> tuple[Page, ...]:
    raw = json.loads(resources.files(__package__).joinpath("web_corpus.json").read_text(encoding="utf-8"))
    return tuple(Page(p["url"], p["title"], p["text"], str(p.get("region", ""))) for p in raw)


def search(query: str, config: dict[str, Any]) -> list[Page]:
    words = _words(query)
    domains = config.get("domains") or []
    region = str((config.get("location") or {}).get("region") or "")
    scored = []
    for page in corpus():
        if domains and not any(page.host == d or page.host.endswith("." + d) for d in domains):
            continue
        if region and page.region and page.region != region:
            continue
        score = 2 * len(words & _words(page.title)) + len(words & _words(page.text))
        if score:
            scored.append((-(score + (1 if region and page.region == region else 0)), page.url, page))
    scored.sort()
    return [page for *_, page in scored[: PAGES_FOR_SIZE[config.get("size", "medium")]]]


def digest(pages: list[Page], config: dict[str, Any]) -> str:
    """What the model reads of the results."""
    limit = CHARS_FOR_SIZE[config.get("size", "medium")]
    lines = [f"[{i}] {p.title} ({p.url}): {p.text[:limit]}" for i, p in enumerate(pages, 1)]
    return "Web search results:\n" + "\n".join(lines) if lines else "Web search found nothing."


def _words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 1 and w not in _STOP}
