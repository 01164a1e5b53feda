"""A fixture corpus of notes and docs on disk, made by the test that uses it.

One fact is planted in one file only (`vault.md`), so an answer's sources can be
checked to name that file; the PDF is generated here, with a real text layer.
"""

from __future__ import annotations

from pathlib import Path

PLANTED = "The vault combination is 7319-ALPHA."

TRAVEL = """\
# Travel notes

A few trips worth remembering.

## Kazan

The kremlin in Kazan is white, and the Volga is wide there.

We ate chak-chak at the market.

## Sochi

Sochi is warm in October; the sea was calm.
"""

VAULT = f"""\
# Household

## Safe

{PLANTED} Change it every spring.
"""

GUIDE_HTML = """\
<!doctype html>
<html><head><title>Guide</title><style>body {{ color: red }}</style></head>
<body>
<h1>Deploy guide</h1>
<p>Deploys run from the <b>release</b> branch
only after review.</p>
<h2>Rollback</h2>
<p>Rollback with the lever marked ORANGE-LEVER in the console.</p>
<script>var hidden = "never indexed";</script>
</body></html>
"""

APP_PY = """\
import os


def load_config(path):
    \"\"\"Read the flamingo settings file.\"\"\"
    with open(path) as fh:
        return fh.read()


class Launcher:
    def start(self):
        return os.getpid()
"""

RUSSIAN = (
    "Заметка о самоваре. Бабушкин самовар стоит на полке в кладовой, "
    "его чистят перед праздником и ставят на стол к чаю.\n"
)
LATIN = "Recette: la crème brûlée de grand-mère, déjà célèbre à l'école du village.\n"


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A PDF whose pages hold these lines in Helvetica: a real text layer for pypdf to read.
    A page with no lines has no text at all, as a scanned page has none."""
    objects: list[str] = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for lines in pages:
        shown = " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines
        )
        content = f"BT /F1 12 Tf 14 TL 72 740 Td {shown} ET" if lines else ""
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
        content_ref = len(objects)
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Contents {content_ref} 0 R /Resources << /Font << /F1 {{font}} 0 R >> >> >>"
        )
        kids.append(len(objects))
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    font = len(objects)
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body.replace('{font}', str(font))}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def make_corpus(root: Path) -> Path:
    """notes/ with Markdown, HTML, code, legacy encodings, a PDF; and files that must be skipped."""
    notes = root / "notes"
    (notes / "home").mkdir(parents=True)
    (notes / "docs").mkdir()
    (notes / "src").mkdir()
    (notes / "legacy").mkdir()
    (notes / "travel.md").write_text(TRAVEL, encoding="utf-8")
    (notes / "home" / "vault.md").write_text(VAULT, encoding="utf-8")
    (notes / "docs" / "guide.html").write_text(GUIDE_HTML, encoding="utf-8")
    (notes / "src" / "app.py").write_text(APP_PY, encoding="utf-8")
    (notes / "legacy" / "samovar-cp1251.txt").write_bytes(RUSSIAN.encode("cp1251"))
    (notes / "legacy" / "samovar-koi8.txt").write_bytes(RUSSIAN.replace("Заметка", "Запись").encode("koi8-r"))
    (notes / "legacy" / "recette-latin1.txt").write_bytes(LATIN.encode("latin-1"))
    (notes / "docs" / "report.pdf").write_bytes(
        pdf_bytes([["Quarterly report", "Revenue grew in the north."], ["The heron project ships in May."]])
    )
    # Skipped, each with its reason:
    (notes / "docs" / "scan.pdf").write_bytes(pdf_bytes([[]]))
    (notes / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (notes / "data.dat").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    (notes / "empty.txt").write_text("", encoding="utf-8")
    with open(notes / "huge.log", "wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.truncate(200 * 2**20)
    (notes / "home" / "loop").symlink_to("..")
    (notes / "self-link").symlink_to("self-link")
    return notes
