"""A race's budget: the seconds it may hold the host, its prepare builds, warm-ups and runs of
both sides together (ARENA_RACE_BUDGET_SECONDS).

Each run may last ARENA_BUILD_TIMEOUT, so without a bound one public race of 10 runs and 3
warm-ups could hold the measurement lock for hours. The budget is a deadline every build of
the race respects: a build's timeout is never longer than what is left, so the build running
when the budget ends is killed, and no build starts after it; the race is then void with the
reason. Time spent waiting for another race's measurement lock is not the race's own: it
moves the deadline.
"""

import math
import threading
import time

from workers.engine.measuring.measure import Cancelled


class OverBudget(Cancelled):
    """The race's budget is spent: its builds stop and the race is void (not a cancel)."""


class RaceBudget:
    """The deadline of a race's builds; `seconds` of 0 (or None) means no bound."""

    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds or 0
        self._clock = clock
        self._deadline = None
        self._guard = threading.Lock()

    def start(self):
        """The budget runs from here (after the clone, before the first prepare step)."""
        self._deadline = self._clock() + self.seconds

    def excuse(self, seconds):
        """Add time the race spent waiting for another race's measurement lock."""
        with self._guard:
            if self._deadline is not None:
                self._deadline += max(seconds, 0)

    def left(self):
        """Seconds left before the deadline (infinite without a bound or before start)."""
        if not self.seconds or self._deadline is None:
            return math.inf
        return self._deadline - self._clock()

    @property
    def spent(self):
        return self.left() <= 0

    def bound(self, timeout):
        """A build's timeout cut to what is left; OverBudget when nothing is."""
        if self.spent:
            raise OverBudget(self.reason)
        return min(timeout, self.left())

    @property
    def reason(self):
        return (
            f"the race went over its budget of {self.seconds:g} s on the host "
            "(ARENA_RACE_BUDGET_SECONDS: prepare, warm-ups and runs of both sides); "
            "the running build was stopped and nothing more was started"
        )
