"""How tall each message of a thread is, in rows, mounted or not.

The message pane mounts only the messages near the view; the rest are stand-in
space above and below. This keeps a height per message position: measured once
its widget has been laid out, estimated before (the mean of those measured so
far, since a thread's messages tend to be alike). Sums and lookups are over a
plain list, at C speed: 50,000 positions take well under a millisecond to sum
and a few to search.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

# Before anything is measured: a header, two lines of text, a run line, a blank between.
FIRST_GUESS = 5


class Heights:
    """Rows per position: the measured ones kept, the rest all one guess (changing the
    guess touches nothing; sums are a C-speed sum of the measured plus the guess times
    the number of the others)."""

    __slots__ = ("_guess", "_measured", "_rows", "_sum_measured")

    def __init__(self, count: int = 0, guess: int = FIRST_GUESS) -> None:
        self._guess = max(1, guess)
        self._rows = [0] * count  # measured rows; 0 where unmeasured
        self._measured = bytearray(count)
        self._sum_measured = 0  # rows of the measured positions, for the mean

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> int:
        # A window may briefly hold a message the count has not caught up with (one
        # stored while the window was read): it is guessed until it is counted.
        if 0 <= index < len(self._rows) and self._measured[index]:
            return self._rows[index]
        return self._guess

    @property
    def guess(self) -> int:
        return self._guess

    def measured(self, index: int) -> bool:
        return bool(self._measured[index])

    def any_measured(self) -> bool:
        return any(self._measured)

    def measure(self, index: int, rows: int) -> None:
        if not 0 <= index < len(self._rows):
            return
        self._sum_measured += rows - self._rows[index]
        self._rows[index] = rows
        self._measured[index] = 1

    def set_guess(self, guess: int) -> None:
        """Estimate the unmeasured positions as `guess` rows each."""
        self._guess = max(1, guess)

    def guess_again(self) -> None:
        """Estimate the unmeasured positions as the mean of the measured ones."""
        count = sum(self._measured)
        if count:
            self.set_guess(round(self._sum_measured / count))

    def forget(self) -> None:
        """The width changed: every measure is stale; keep their mean as the guess."""
        self.guess_again()
        self._rows = [0] * len(self._rows)
        self._measured = bytearray(len(self._rows))
        self._sum_measured = 0

    def append(self) -> None:
        self._rows.append(0)
        self._measured.append(0)

    def delete(self, index: int) -> None:
        self._sum_measured -= self._rows[index]
        del self._rows[index]
        del self._measured[index]

    def total(self, start: int = 0, end: int | None = None) -> int:
        rows = self._rows[start:end]
        unmeasured = len(rows) - sum(self._measured[start:end])
        return sum(rows) + unmeasured * self._guess

    def index_at(self, y: int) -> int:
        """The position whose rows include row `y` from the top (the last one past the end)."""
        if not self._rows:
            return 0
        guess, measured = self._guess, self._measured
        ends = list(accumulate(r if m else guess for r, m in zip(self._rows, measured, strict=True)))
        return min(bisect_right(ends, max(0, y)), len(self._rows) - 1)
