"""Scenario: keys while another process holds the store's write lock for 3 s.

A second process takes the store's write lock (BEGIN IMMEDIATE) and keeps it
HOLD_S seconds. Meanwhile the user sends a message in a thread (the send must
write to the store, and waits for the lock) and goes on typing in the composer:
- locked_store_keypress_p99_ms: each key posted until a frame shows it;
- locked_store_keys_timed: how many keys were timed;
- locked_store_answer_s: send until the answer is finished (the lock's wait included).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import FrameLog, firehose_server, percentile
from _yachat import SIZE, yachat_app, yachat_settings
from textual import events

HOLD_S = 3.0
KEY_EVERY_S = 0.05
HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


async def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home, firehose_server(chunks=50, home=home) as server:
        path = Path(home) / "yachat.db"
        app = yachat_app(yachat_settings(server, home, store=path))
        thread = app.core.new_thread("locked")
        app.core.store.add_message(thread.id, "user", "hello")
        latencies: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            app.open_thread(thread.id)
            app.composer.focus()
            await pilot.pause(0.3)
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLDER, str(path), str(HOLD_S)], stdout=subprocess.PIPE, text=True
            )
            try:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
                held_at = time.perf_counter()
                app.composer.insert("stream it")
                sent_at = time.perf_counter()
                # Posted, not pressed: the pilot would wait until the app is idle again.
                app.composer.post_message(events.Key("enter", None))
                app.frame_log = FrameLog(lambda: app.composer.text.count("x"))
                # Keys on a fixed schedule, each timed from when it was due: a key the
                # user typed while the loop was stuck waits in the terminal meanwhile.
                due = [held_at + 0.05 + KEY_EVERY_S * i for i in range(int(HOLD_S / KEY_EVERY_S))]
                for when in due:
                    while time.perf_counter() < when:
                        await asyncio.sleep(0.001)
                    app.composer.post_message(events.Key("x", "x"))
                while app.composer.text.count("x") < len(due) or app.frame_log.frames[-1][1] < len(due):
                    await asyncio.sleep(0.01)
                for i, when in enumerate(due):
                    shown = next(t for t, n in app.frame_log.frames if n > i)
                    latencies.append((shown - when) * 1000)
                while app.runs.streaming(thread.id):
                    await asyncio.sleep(0.01)
                answer_s = time.perf_counter() - sent_at
            finally:
                holder.wait(timeout=30)
    return {
        "locked_store_keypress_p99_ms": percentile(latencies, 99),
        "locked_store_keys_timed": float(len(latencies)),
        "locked_store_answer_s": answer_s,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
