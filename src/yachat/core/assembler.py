"""Turn the server's cumulative chunks into the smallest change to show.

Yandex streams the whole answer so far in every chunk. A chunk that extends
the previous text becomes an APPEND of its new suffix; one that does not (a
content-filter rewrite, or a retried stream starting over) becomes a REPLACE.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)  # one per chunk: see events.RunEvent
class TextChange:
    replace: bool  # False: `text` is a suffix to append; True: `text` is the whole answer
    text: str


class StreamAssembler:
    def __init__(self) -> None:
        self.text = ""

    def feed(self, cumulative: str) -> TextChange | None:
        """The change from the text so far to `cumulative`, or None if there is none."""
        previous = self.text
        if cumulative == previous:
            return None
        self.text = cumulative
        if cumulative.startswith(previous):
            return TextChange(replace=False, text=cumulative[len(previous) :])
        return TextChange(replace=True, text=cumulative)
