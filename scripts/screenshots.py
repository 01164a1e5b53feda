"""Regenerate screenshots/ from a real run: the TUI against a scripted local
server, driven by Textual's Pilot, saved as SVG and rendered to PNG.

    .venv/bin/python scripts/screenshots.py

The PNGs are rendered by headless Chromium, which lays out the SVG's text as a
browser does (rsvg-convert dropped the spaces after bold and code spans and
garbled the footer). Needs Debian's `chromium` and `fonts-firacode` (the font
Textual's SVG asks for): `apt-get install -y chromium fonts-firacode`.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from yachat import mcp_config  # noqa: E402
from yachat.core.chat import ChatCore  # noqa: E402
from yachat.core.knowledge.indexer import add_paths  # noqa: E402
from yachat.server.engines.firehose import firehose_text  # noqa: E402
from yachat.server.process import start_server_process  # noqa: E402
from yachat.settings import Settings  # noqa: E402
from yachat.tui.app import YachatApp  # noqa: E402
from yachat.tui.thinking import LiveThinking  # noqa: E402
from yachat.tui.tool_calls import ToolCallView  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (120, 36)
NARROW = (80, 24)  # the smallest common terminal

STREAMED = """Here is a small **binary search** in Python, with notes:

```python
def bisect(items: list[int], target: int) -> int:
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo
```

1. The loop keeps `items[:lo] < target <= items[hi:]`.
2. Each step halves the range, so it runs in *O(log n)*.
3. It returns the insertion point when `target` is absent.

| input | result |
|---|---|
| `[1, 3, 5]`, 3 | 1 |
| `[1, 3, 5]`, 4 | 2 |
"""


def seed(core: ChatCore) -> None:
    store = core.store
    names = [
        "Kitchen chemistry: why bread rises",
        "Rust lifetimes, explained",
        "Plan a weekend in Kazan",
        "SQL window functions",
        "Regex for ISO dates",
    ]
    for name in names:
        t = store.create_thread(name, core.store.default_assistant().id)
        store.add_message(t.id, "user", f"Tell me about {name.lower()}.")
        store.add_message(t.id, "assistant", f"Sure — a short note on *{name}*.")
    long = store.create_thread("Markdown and code showcase", core.store.default_assistant().id)
    text = firehose_text()
    sections = text.split("\n## ")
    for i, section in enumerate(sections[1:8]):
        store.add_message(long.id, "user", f"Show me section {i + 1}")
        run = store.create_run(long.id, None, "yandexgpt/latest")
        store.add_message(long.id, "assistant", "## " + section, run_id=run.id)
        store.finish_run(
            run.id, store.get_run(run.id).status.COMPLETED,  # type: ignore[union-attr]
            input_tokens=120, completion_tokens=380, total_tokens=500, model_version="24.11.2026",
            first_chunk_s=0.21, tokens_per_s=54.0,
        )  # fmt: skip


THOUGHT = (
    "The user wants the 1-based position of the first element >= target. "
    "Binary search halves the range each step: O(log n). Check the edge cases: "
    "an empty list, a target above every element, duplicates. Then explain lo/hi."
)
NOTES = {
    "travel/kazan.md": "# Travel notes\n\n## Kazan\n\nThe Kremlin opens at 8:00; the Kul Sharif mosque "
    "closes for visitors at 19:30 on Fridays.\n\nBauman street is best in the evening.\n",
    "travel/packing.md": "# Packing\n\n## Autumn\n\nTake a rain jacket: October in Kazan averages "
    "12 days of rain.\n",
}


def wait(pilot: object, condition: object, seconds: float = 10) -> object:
    async def waiting() -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            await pilot.pause(0.02)  # type: ignore[attr-defined]

    return waiting()


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


async def shoot() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "script.json"
        script.write_text(
            '{"rules": [{"match": "binary search", "answer": '
            + __import__("json").dumps(STREAMED)
            + ', "chunk_chars": 6, "delay_ms": 25},'
            + ' {"match": "think", "reasoning": '
            + __import__("json").dumps(THOUGHT)
            + ', "answer": "Use `bisect_left`: it returns the insertion point.", "chunk_chars": 4, "delay_ms": 40},'
            + ' {"match": "Kremlin", "answer": "It opens at 8:00 [1]; take a rain jacket in October [2].",'
            + ' "chunk_chars": 6}]}'
        )
        weather = {
            "weather": mcp_config.parse_server(
                "weather", {"command": sys.executable, "args": [str(ROOT / "scripts" / "demo_mcp_server.py")]}
            )
        }
        notes = Path(tmp) / "notes"
        for name, text in NOTES.items():
            (notes / name).parent.mkdir(parents=True, exist_ok=True)
            (notes / name).write_text(text, encoding="utf-8")
        with start_server_process(
            "scripted", args=["--script", str(script)], env={"YACHAT_HOME": tmp}
        ) as srv:
            settings = Settings(
                backend="local",
                local_address=srv.address,
                local_http_url=srv.http_url,
                local_token=srv.token,
                store_path=Path(tmp) / "yachat.db",
                config_path=Path(tmp) / "config.toml",
                mcp_servers=weather,
            )
            core = ChatCore.open_store(settings)
            seed(core)
            app = YachatApp(core)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause(0.3)
                app.save_screenshot(str(OUT / "long-thread.svg"))

                await pilot.press("ctrl+n")
                app.composer.insert("Write a binary search in Python and explain it")
                await pilot.press("enter")
                deadline = time.monotonic() + 10
                while (
                    app.pane.live() is None or len(app.pane.live().text) < 330
                ) and time.monotonic() < deadline:
                    await pilot.pause(0.02)
                await pilot.pause(0.05)
                app.save_screenshot(str(OUT / "streaming.svg"))
                while app.pane.live() is not None and time.monotonic() < deadline + 10:
                    await pilot.pause(0.05)

                await pilot.press("ctrl+f")
                await pilot.press(*"rises")
                await pilot.pause(0.4)
                app.save_screenshot(str(OUT / "search.svg"))
                await pilot.press("escape")

                await pilot.press("ctrl+s")
                await pilot.pause(0.3)
                app.save_screenshot(str(OUT / "settings.svg"))
                await pilot.press("escape")
                await pilot.pause(0.2)

                # A reasoning model over the chat API: its thinking streams first.
                store = core.store
                thinker = store.create_assistant(
                    "Thinker", "qwen3-235b-a22b-fp8", "You are a careful engineer.", reasoning_mode="high"
                )
                thread = store.create_thread("Reasoning over the chat API", thinker.id)
                app.open_thread(thread.id)
                app.composer.insert("think: where would 4 go in [1, 3, 5]?")
                await pilot.press("enter")
                await wait(
                    pilot,
                    lambda: any(len(w.text) > 150 for w in app.pane.query(LiveThinking)),
                )
                await pilot.pause(0.1)
                app.save_screenshot(str(OUT / "thinking.svg"))
                await wait(pilot, lambda: not app.runs.active, 20)

                await pilot.press("f4")
                await pilot.pause(0.6)
                app.save_screenshot(str(OUT / "model-picker.svg"))
                await pilot.press("escape")
                await pilot.pause(0.2)

                # An assistant with knowledge: the sources under the answer.
                docs = store.create_assistant("Travel notes", "yandexgpt/latest", "Answer from the notes.")
                add_paths(store, docs.id, [notes])
                thread = store.create_thread("Knowledge: Kazan trip", docs.id)
                app.open_thread(thread.id)
                app.composer.insert("When does the Kremlin open, and how rainy is October?")
                await pilot.press("enter")
                await wait(pilot, lambda: not app.runs.active and bool(app.pane.query("SourceLine")), 20)
                await pilot.pause(0.3)
                app.save_screenshot(str(OUT / "sources.svg"))
                await pilot.press("f9")
                await pilot.pause(0.5)
                app.save_screenshot(str(OUT / "knowledge.svg"))
                await pilot.press("escape")
                await pilot.pause(0.2)

                # A tool from an MCP server: the call waits for approval, then its result.
                await wait(pilot, lambda: app.mcp is not None and bool(app.mcp.tools()), 60)
                thread = store.create_thread("Weekend weather", store.default_assistant().id)
                app.open_thread(thread.id)
                app.composer.insert("What is the forecast for Kazan?")
                await pilot.press("enter")
                await wait(
                    pilot,
                    lambda: any(v.state.status == "awaiting_approval" for v in app.pane.query(ToolCallView)),
                )
                await pilot.pause(0.3)
                app.save_screenshot(str(OUT / "tool-approval.svg"))
                await pilot.press("a")
                await wait(pilot, lambda: not app.runs.active, 20)
                app.pane.query(ToolCallView).first().action_fold()
                await pilot.pause(0.4)
                app.save_screenshot(str(OUT / "tool-call.svg"))

            # The finished binary-search thread (the newest, so it opens) at 80x24.
            narrow = YachatApp(ChatCore.open_store(settings))
            async with narrow.run_test(size=NARROW) as pilot:
                await pilot.pause(0.5)
                narrow.save_screenshot(str(OUT / "narrow-80x24.svg"))
        browser = chromium()
        if browser is None:
            print("chromium not found: only SVGs written (apt-get install -y chromium)", file=sys.stderr)
        else:
            for svg in sorted(OUT.glob("*.svg")):
                convert(svg, browser, Path(tmp))
    print(f"wrote {', '.join(sorted(p.name for p in OUT.iterdir()))}")


if __name__ == "__main__":
    asyncio.run(shoot())
