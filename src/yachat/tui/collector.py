"""When the TUI runs a full garbage collection: after widgets were removed.

`tune_gc` freezes the start-up objects and makes automatic collections rare,
and the run controller pauses collection while answers stream. Message widgets
are cyclic garbage once the pane removes them (a thread switch, a page), and by
then they are in the oldest generation, which only a full pass frees. Left to
the automatic passes, that came every ~14 answers of a session that switched
threads, with ~25 MB of dead widgets and their rendered lines piled up before
it, and the heap never gave that peak back (bench `session_rss_growth`). So a
full pass follows removals, once nothing streams, after the frame that showed
them.
"""

from __future__ import annotations

import gc

_removed = 0  # widgets removed since the last full pass


def widgets_removed(count: int) -> None:
    global _removed
    _removed += count


def collect_removed() -> None:
    """A full pass if widgets were removed since the last one and no answer streams
    (collection is paused then; the end of the answers calls this again)."""
    global _removed
    if _removed and gc.isenabled():
        _removed = 0
        gc.collect()
