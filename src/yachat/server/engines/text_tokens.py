"""A simple deterministic tokenizer for the engines that have no model."""

from __future__ import annotations

import re
import zlib

from yachat.server.engines.base import ChatMessage, Token

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])", re.UNICODE)


def split_tokens(text: str) -> list[str]:
    """Word and punctuation tokens, each keeping the whitespace before it."""
    tokens = _TOKEN.findall(text)
    tail = text[sum(len(t) for t in tokens) :]
    if tail:
        tokens.append(tail)
    return tokens


def word_tokens(text: str) -> list[str]:
    """The tokens `count_tokens` counts, each with the whitespace before it."""
    return _TOKEN.findall(text)


def token_offsets(text: str) -> list[int]:
    """Where each token's first non-space character is: a prefix ending past it holds the token."""
    return [m.end() - len(m.group().lstrip()) for m in _TOKEN.finditer(text)]


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def prompt_tokens(messages: tuple[ChatMessage, ...]) -> list[Token]:
    """The prompt as the scripted engine sees it: role markers and words."""
    out: list[Token] = [Token(1, "<s>", True)]
    for m in messages:
        out.append(Token(2, f"[{m.role}]", True))
        out += [Token(_token_id(t.strip()), t, False) for t in split_tokens(m.prompt_text) if t.strip()]
    out.append(Token(3, "[/s]", True))
    return out


def _token_id(text: str) -> int:
    return 100 + zlib.crc32(text.encode()) % 100_000
