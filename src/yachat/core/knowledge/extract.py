"""A file's text, line by line, whatever its format and encoding; or why it has none.

Every line keeps where it came from (its line in the file, its page in a PDF), so
each chunk made from them can say where it was found.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# Above this a file is not read: a log or a dump, not notes (and it would hold the index up).
MAX_FILE_BYTES = 32 * 2**20
SNIFF_BYTES = 8192

MARKDOWN = {".md", ".markdown", ".mdx", ".mkd", ".rst", ".txt", ".text", ".org", ".adoc"}
HTML = {".html", ".htm", ".xhtml"}
CODE = {
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".c", ".h", ".cc", ".cpp",
    ".cxx", ".hpp", ".hh", ".java", ".kt", ".kts", ".swift", ".rb", ".php", ".cs", ".fs", ".scala", ".sh",
    ".bash", ".zsh", ".fish", ".ps1", ".sql", ".lua", ".pl", ".pm", ".r", ".jl", ".dart", ".ex", ".exs",
    ".erl", ".hs", ".ml", ".clj", ".vim", ".el", ".toml", ".yaml", ".yml", ".json", ".ini", ".cfg",
    ".conf", ".css", ".scss", ".less", ".xml", ".proto", ".tf", ".gradle", ".cmake", ".mk", ".vue",
    ".svelte",
}  # fmt: skip
CODE_NAMES = {"makefile", "dockerfile", "justfile", "rakefile", "gemfile", "cmakelists.txt"}
# Formats that are never text: rejected by name, without reading them.
BINARY = {
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".tif", ".tiff", ".heic", ".mp3", ".mp4",
    ".m4a", ".wav", ".flac", ".ogg", ".mov", ".avi", ".mkv", ".webm", ".zip", ".gz", ".tgz", ".bz2", ".xz",
    ".zst", ".7z", ".rar", ".tar", ".jar", ".whl", ".exe", ".dll", ".so", ".dylib", ".o", ".a", ".class",
    ".pyc", ".woff", ".woff2", ".ttf", ".otf", ".sqlite", ".db", ".iso", ".dmg", ".bin", ".psd",
    ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".epub", ".gguf",
}  # fmt: skip


class Skipped(Exception):
    """The file is left out of the index; the message says why, for the user."""


@dataclass(frozen=True)
class Document:
    kind: str  # markdown | text | code | html | pdf
    lines: list[tuple[int, str]]  # (line in the file, or page of a PDF; its text)


def kind_of(path: Path) -> str | None:
    """What the file is by its name: a kind, or None when only its bytes can tell."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return "pdf"
    if suffix in HTML:
        return "html"
    if suffix in MARKDOWN:
        return "markdown" if suffix not in {".txt", ".text"} else "text"
    if suffix in CODE or path.name.lower() in CODE_NAMES:
        return "code"
    if suffix in BINARY:
        raise Skipped(f"not text ({suffix[1:]} file)")
    return None


def extract(path: Path, data: bytes) -> Document:
    """The text of a file, from its bytes (read once by the caller, who hashed them)."""
    kind = kind_of(path)
    if kind == "pdf" or (kind is None and data.startswith(b"%PDF-")):
        return Document("pdf", pdf_lines(data))
    text = decode(data)
    if not text.strip():
        raise Skipped("no text (empty)")
    if kind == "html":
        lines = html_lines(text)
        if not any(line.strip() for _, line in lines):
            raise Skipped("no text (an HTML page with no visible text)")
        return Document("html", lines)
    numbered = list(enumerate(text.splitlines(), start=1))
    return Document(kind or "text", numbered)


# -- encodings -----------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM, else the legacy encoding
    charset-normalizer finds most likely (cp1251, koi8-r, latin-1 ...)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:SNIFF_BYTES]:
        raise Skipped("binary (not a text file)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    sample = text[:SNIFF_BYTES]
    if sample and len(_CONTROL.findall(sample)) > len(sample) // 20:
        raise Skipped("binary (not a text file)")
    return text


# Most legacy text a user keeps is Russian or Western European: these are tried when
# charset-normalizer cannot tell (short text, no language it is sure of).
LEGACY = ("cp1251", "koi8_r", "cp1252", "latin_1")
_WORDS = re.compile(r"[^\W\d_]+")


def _decode_legacy(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding and best.coherence >= 0.5:
        return data.decode(best.encoding, errors="replace")
    scored = []
    for encoding in LEGACY:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        scored.append((_plausibility(text), text))
    if scored:
        return max(scored, key=lambda pair: pair[0])[1]
    if best is None or best.encoding is None:
        raise Skipped("not text (no known encoding fits it)")
    return data.decode(best.encoding, errors="replace")


def _plausibility(text: str) -> int:
    """How much of the text reads as words: one script per word, capitals only first, and
    Latin words mostly ASCII (Cyrillic read as cp1252 is words of accented letters only)."""
    score = 0
    for word in _WORDS.findall(text[:20000]):
        cyrillic = sum("\u0400" <= c <= "\u04ff" for c in word)
        ascii_letters = sum(c.isascii() for c in word)
        plausible = cyrillic == len(word) if cyrillic else ascii_letters * 2 >= len(word)
        if plausible and word[1:] != word[1:].lower() and word != word.upper():
            plausible = False
        score += len(word) if plausible else -len(word)
    return score


# -- HTML ----------------------------------------------------------------------

_BLOCKS = {
    "p", "div", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer", "main",
    "blockquote", "dt", "dd", "dl", "br", "hr", "nav", "aside", "figure", "figcaption", "form", "details",
    "summary", "title",
}  # fmt: skip
_HIDDEN = {"script", "style", "head", "noscript", "template", "svg"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _HtmlText(HTMLParser):
    """Visible text as Markdown-like lines: headings as `#` lines, blocks apart, <pre> fenced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self.buffer: list[str] = []
        self.pieces: list[tuple[int, str]] = []  # (line where it starts, text) of the buffer's text
        self.buffer_line = 0
        self.hidden = 0
        self.heading = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self.flush()
            self.heading = _HEADINGS[tag]
        elif tag == "pre":
            self.flush()
            self.pre += 1
            self.lines.append((self.getpos()[0], "```"))
        elif tag in _BLOCKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _HEADINGS:
            self.flush()
            self.heading = 0
        elif tag == "pre":
            self.flush()
            self.pre = max(0, self.pre - 1)
            self.lines += [(self.getpos()[0], "```"), (self.getpos()[0], "")]
        elif tag in _BLOCKS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            line = self.getpos()[0]
            for offset, part in enumerate(data.split("\n")):
                if offset:
                    self.flush(blank=False)
                if not self.buffer:
                    self.buffer_line = line + offset
                self.buffer.append(part)
            return
        if not self.buffer:
            self.buffer_line = self.getpos()[0]
        self.buffer.append(data)
        self.pieces.append((self.getpos()[0], data))

    def flush(self, blank: bool = True) -> None:
        raw = "".join(self.buffer)
        pieces, self.buffer, self.pieces = self.pieces, [], []
        if self.pre:
            self.lines.append((self.buffer_line, raw.rstrip()))
            return
        text = " ".join(raw.split())
        if not text:
            return
        if self.heading:
            self.lines.append((self.buffer_line, "#" * self.heading + " " + text))
        else:
            # A paragraph keeps its lines in the file, so a passage's line range is the file's.
            by_line: dict[int, list[str]] = {}
            for line, data in pieces:
                for offset, part in enumerate(data.split("\n")):
                    by_line.setdefault(line + offset, []).append(part)
            for line, parts in sorted(by_line.items()):
                words = " ".join("".join(parts).split())
                if words:
                    self.lines.append((line, words))
        if blank:
            self.lines.append((self.buffer_line, ""))


def html_lines(text: str) -> list[tuple[int, str]]:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    parser.flush()
    return parser.lines


# -- PDF -----------------------------------------------------------------------


def pdf_lines(data: bytes) -> list[tuple[int, str]]:
    import io

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns about every oddity of a file
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Skipped("an encrypted PDF (it needs a password)")
        lines: list[tuple[int, str]] = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            lines += [(number, line) for line in text.splitlines()]
            lines.append((number, ""))
    except Skipped:
        raise
    except Exception as exc:  # pypdf raises many kinds on broken files; none should stop the index
        raise Skipped(f"an unreadable PDF ({one_reason(exc)})") from exc
    if not any(line.strip() for _, line in lines):
        raise Skipped("a PDF with no text layer (scanned pages? run OCR on it first)")
    return lines


def one_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 80 else text[:79] + "…"
