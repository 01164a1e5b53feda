"""Scenario: the history scenario on a thread of 5,000 messages (~4.5 MB).

history_5k_open_s, history_5k_rss_mb, history_5k_pageup_p99_ms: as in `history`.
"""

from __future__ import annotations

import asyncio
import json

from history import main

if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(5000, "history_5k"))))
