"""Scenario: the TUI stays responsive while the knowledge screen indexes 10,000 files
(200 MB of Markdown) in the background.

The user adds the folder on the knowledge screen (F9) and goes on typing; keys are
posted on a fixed schedule, each timed from when it was due until a frame shows it:
- kb_index_keypress_p50_ms / kb_index_keypress_p99_ms: during the indexing;
- kb_index_keys_timed: how many keys were timed;
- kb_index_ui_s, kb_index_ui_files_per_s, kb_index_ui_mb_per_s: add -> "Done".
The server's embeddings are off (YACHAT_SERVE_EMBEDDINGS=off): embedding 200 MB on the
local model would take hours, and this measures the indexing. YACHAT_BENCH_KB_FILES
sets the number of files (20 KB each).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path

from _common import FrameLog, percentile
from _yachat import SIZE, yachat_app, yachat_settings
from retrieval import vocabulary
from textual import events
from textual.widgets import Input

from yachat.server.process import start_server_process
from yachat.tui.knowledge_screen import KnowledgeScreen

FILES = int(os.environ.get("YACHAT_BENCH_KB_FILES", "10000"))
FILE_BYTES = 20_000
KEY_EVERY_S = 0.05


def write_corpus(folder: Path) -> int:
    """FILES Markdown files of ~20 KB: sections of prose drawn from a pool of paragraphs."""
    rng = random.Random(15)
    words = vocabulary(rng, 20_000)
    paragraphs = [" ".join(rng.choices(words, k=rng.randint(40, 160))) + "." for _ in range(3000)]
    size = 0
    for f in range(FILES):
        sub = folder / f"area{f % 100}"
        sub.mkdir(parents=True, exist_ok=True)
        parts = [f"# Notes {f}\n"]
        length = 0
        section = 0
        while length < FILE_BYTES:
            body = "\n\n".join(rng.choices(paragraphs, k=2))
            parts.append(f"## Section {section}\n\n{body}\n")
            length += len(parts[-1])
            section += 1
        text = "\n".join(parts)
        (sub / f"note{f}.md").write_text(text, encoding="utf-8")
        size += len(text.encode())
    return size


class TypedKeys:
    """The x's typed so far: the screen empties the field when the indexing is done."""

    def __init__(self, field: Input) -> None:
        self.field = field
        self.before = 0  # x's in the field before it was emptied
        self.last = 0

    def __call__(self) -> int:
        now = self.field.value.count("x")
        if now < self.last:
            self.before += self.last
        self.last = now
        return self.before + now


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "notes"
        size = write_corpus(folder)
        env = {"YACHAT_HOME": home, "YACHAT_SERVE_EMBEDDINGS": "off"}
        with start_server_process("scripted", env=env) as server:
            app = yachat_app(yachat_settings(server, home))
            latencies: list[float] = []
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("f9")
                while not isinstance(app.screen, KnowledgeScreen):
                    await asyncio.sleep(0.01)
                screen = app.screen
                field = screen.query_one("#path", Input)
                field.value = str(folder)
                await pilot.pause(0.2)
                typed = TypedKeys(field)
                app.frame_log = FrameLog(typed)
                started = time.perf_counter()
                screen.query_one("#add").press()
                while not screen.indexing:
                    await asyncio.sleep(0.001)
                due: list[float] = []
                # Keys on a fixed schedule while it indexes, each timed from when it was due.
                while screen.indexing:
                    when = started + 0.05 + KEY_EVERY_S * len(due)
                    while time.perf_counter() < when:
                        await asyncio.sleep(0.001)
                    field.post_message(events.Key("x", "x"))
                    due.append(when)
                index_s = time.perf_counter() - started
                while typed() < len(due) or app.frame_log.frames[-1][1] < len(due):
                    await asyncio.sleep(0.01)
                for i, when in enumerate(due):
                    shown = next(t for t, n in app.frame_log.frames if n > i)
                    latencies.append((shown - when) * 1000)
                status = str(screen.query_one("#status").render())
                assert status.startswith("Done"), status
    return {
        "kb_index_keypress_p50_ms": percentile(latencies, 50),
        "kb_index_keypress_p99_ms": percentile(latencies, 99),
        "kb_index_keys_timed": float(len(latencies)),
        "kb_index_ui_s": index_s,
        "kb_index_ui_files_per_s": FILES / index_s,
        "kb_index_ui_mb_per_s": size / 2**20 / index_s,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
