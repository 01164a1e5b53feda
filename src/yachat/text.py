"""Make untrusted text (model output, user input, thread names) safe to show.

Nothing in such text may be interpreted by a terminal: escape sequences
(CSI colours, OSC 52 clipboard writes, screen clears) and other C0/C1 controls
are removed, keeping only newlines and tabs.
"""

from __future__ import annotations

import re

# ESC-introduced sequences first (CSI, OSC up to BEL/ST, two-byte escapes), so
# their parameters vanish with them instead of being left as visible debris.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC ... ST
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters but \\n and \\t."""
    # One C-speed scan first: most text (every streamed chunk) has nothing to strip.
    if _CONTROLS.search(text) is None:
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int = 80) -> str:
    """A safe single-line summary, e.g. a thread title made from a message."""
    flat = " ".join(strip_controls(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
