"""Regenerate screenshots/ from a real run: the TUI against a scripted local
server, driven by Textual's Pilot, saved as SVG and rendered to PNG.

    .venv/bin/python scripts/screenshots.py

The screens are the snapshot tests' scenes (tests/tui/snapshots/scenes.py): the
same fixed sizes, data, clock and server port, and a home directory of the
stage's own, so paths show as a user sees them (`~/notes/…`). What the README
shows is what `pytest tests/tui/snapshots` checks.

The PNGs are rendered by headless Chromium, which lays out the SVG's text as a
browser does (rsvg-convert dropped the spaces after bold and code spans and
garbled the footer). Needs Debian's `chromium` and `fonts-firacode` (the font
Textual's SVG asks for): `apt-get install -y chromium fonts-firacode`.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.tui.snapshots.scenes import SCENES, shoot, stage  # noqa: E402

OUT = ROOT / "screenshots"


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


# A run of block elements (U+2580-U+259F: the borders' half and eighth blocks) in a <text>.
BLOCK_RUN = re.compile(r'<text class="([\w-]+)"([^>]*)>([\u2580-\u259f]+)</text>')


def solid_blocks(text: str) -> str:
    """Outline block elements in their own colour, 1 px wide.

    A terminal draws them as solid cells; as font glyphs stretched to Rich's cell
    width and line height they leave hairline seams between cells (a hatched border).
    """
    fills = dict(re.findall(r"\.([\w-]+) \{ fill: (#[0-9a-fA-F]+)", text))

    def solid(match: re.Match[str]) -> str:
        fill = fills.get(match[1])
        if fill is None:
            return match[0]
        return f'<text class="{match[1]}"{match[2]} stroke="{fill}" stroke-width="1">{match[3]}</text>'

    return BLOCK_RUN.sub(solid, text)


def convert(svg: Path, browser: str, tmp: Path) -> None:
    """Render the SVG at its own size, one CSS pixel per SVG unit, on a transparent page."""
    text = solid_blocks(svg.read_text(encoding="utf-8"))
    match = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text)
    if match is None:
        raise SystemExit(f"{svg.name}: no viewBox")
    width, height = (math.ceil(float(v)) for v in match.groups())
    page = tmp / f"{svg.stem}.html"
    page.write_text(
        '<!doctype html><meta charset="utf-8">'
        "<style>html,body{margin:0;overflow:hidden}svg{display:block}"
        # A terminal shows `<=` and `->` as typed: no Fira Code ligatures.
        "text{font-variant-ligatures:none;font-feature-settings:'liga' 0,'calt' 0}</style>"
        + text.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1),
        encoding="utf-8",
    )
    png = svg.with_suffix(".png")
    png.unlink(missing_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--default-background-color=00000000",
            f"--user-data-dir={tmp / 'chromium'}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    if not png.exists():
        raise SystemExit(f"chromium wrote no {png.name}")


async def shoot_all() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        with stage(Path(tmp)) as where:
            os.environ["HOME"] = str(where.home)
            for name in SCENES:
                store_dir = Path(tmp) / "stores" / name
                store_dir.mkdir(parents=True)
                svg = await shoot(where, name, store_dir)
                (OUT / f"{name}.svg").write_text(svg, encoding="utf-8")
        browser = chromium()
        if browser is None:
            print("chromium not found: only SVGs written (apt-get install -y chromium)", file=sys.stderr)
        else:
            for svg_path in sorted(OUT.glob("*.svg")):
                convert(svg_path, browser, Path(tmp))
    print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir()))}")


if __name__ == "__main__":
    asyncio.run(shoot_all())
