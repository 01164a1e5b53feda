"""Scenario: a long session in one TUI process.

500 answers (a ~1 KB Markdown answer with code and a table, in 8 chunks from
the scripted engine) spread over 5 threads: each answer goes to the next
thread (a thread switch), and after each the pane scrolls two pages up and back
to the bottom (paging older messages in as a reader does).
- session_rss_50_mb, session_rss_500_mb: resident memory after 50 and 500 answers;
- session_rss_growth: their ratio;
- session_answer_median_s: send until the finished answer is shown, over the last 50.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from _common import rss_mb
from _data import ANSWER
from _yachat import SIZE, send_and_time, yachat_app, yachat_settings

from yachat.server.process import start_server_process

ANSWERS = 500
THREADS = 5


async def main() -> dict[str, float]:
    answer = ANSWER.format(n=7, m=49)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "script.json"
        script.write_text(json.dumps({"default": {"chunk_chars": len(answer) // 8 + 1, "answer": answer}}))
        env = {"YACHAT_HOME": home, "YACHAT_SCRIPT": str(script)}
        with start_server_process("scripted", env=env) as server:
            app = yachat_app(yachat_settings(server, home))
            threads = [app.core.new_thread(f"thread {i}").id for i in range(THREADS)]
            times: list[float] = []
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause(0.2)
                for i in range(ANSWERS):
                    app.open_thread(threads[i % THREADS])
                    await pilot.pause()
                    times.append(await send_and_time(app, pilot, f"question {i}", len(answer)))
                    for _ in range(2):
                        app.pane.scroll_page_up(animate=False)
                        await pilot.pause()
                    app.pane.scroll_end(animate=False)
                    await pilot.pause()
                    if i + 1 == 50:
                        figures["session_rss_50_mb"] = rss_mb()
                figures["session_rss_500_mb"] = rss_mb()
    figures["session_rss_growth"] = figures["session_rss_500_mb"] / figures["session_rss_50_mb"]
    figures["session_answer_median_s"] = statistics.median(times[-50:])
    return figures


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
