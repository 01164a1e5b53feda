"""Scenario: a thread of 50,000 messages (~36 MB of store), in the virtual message pane.

- history_50k_open_s, history_50k_rss_mb, history_50k_pageup_p99_ms: as in `history`;
- history_50k_end_home_s: from the thread's end, Home until a frame shows its first message.
"""

from __future__ import annotations

import asyncio
import json

from history import main

if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(50_000, "history_50k", end_home=True))))
