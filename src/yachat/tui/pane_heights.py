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
    __slots__ = ("_guess", "_measured", "_rows", "_sum_measured")

    def __init__(self, count: int = 0, guess: int = FIRST_GUESS) -> None:
        self._guess = guess
        self._rows = [guess] * count
        self._measured = bytearray(count)
        self._sum_measured = 0  # rows of the measured positions, for the mean

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> int:
        # A window may briefly hold a message the count has not caught up with (one
        # stored while the window was read): it is guessed until it is counted.
        return self._rows[index] if 0 <= index < len(self._rows) else self._guess

    @property
    def guess(self) -> int:
        return self._guess

    def measured(self, index: int) -> bool:
        return bool(self._measured[index])

    def measure(self, index: int, rows: int) -> None:
        if not 0 <= index < len(self._rows):
            return
        if self._measured[index]:
            self._sum_measured -= self._rows[index]
        self._rows[index] = rows
        self._measured[index] = 1
        self._sum_measured += rows

    def any_measured(self) -> bool:
        return self._sum_measured > 0 or any(self._measured)

    def set_guess(self, guess: int) -> None:
        """Estimate the unmeasured positions as `guess` rows each."""
        guess = max(1, guess)
        if guess == self._guess:
            return
        self._guess = guess
        rows, measured = self._rows, self._measured
        for index in range(len(rows)):
            if not measured[index]:
                rows[index] = guess

    def guess_again(self) -> None:
        """Estimate the unmeasured positions as the mean of the measured ones."""
        count = sum(self._measured)
        if not count:
            return
        self.set_guess(round(self._sum_measured / count))

    def forget(self) -> None:
        """The width changed: every measure is stale; keep their mean as the guess."""
        self.guess_again()
        self._rows = [self._guess] * len(self._rows)
        self._measured = bytearray(len(self._rows))
        self._sum_measured = 0

    def append(self) -> None:
        self._rows.append(self._guess)
        self._measured.append(0)

    def delete(self, index: int) -> None:
        if self._measured[index]:
            self._sum_measured -= self._rows[index]
        del self._rows[index]
        del self._measured[index]

    def total(self, start: int = 0, end: int | None = None) -> int:
        return sum(self._rows[start:end])

    def index_at(self, y: int) -> int:
        """The position whose rows include row `y` from the top (the last one past the end)."""
        if not self._rows:
            return 0
        ends = list(accumulate(self._rows))
        return min(bisect_right(ends, max(0, y)), len(self._rows) - 1)
