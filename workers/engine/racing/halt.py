"""Why a race's builds stop early: a cancel from outside, or the race became void.

A race is void as soon as one side could not run at all (its toolchain is missing, the sandbox
refused it, the worker's own environment does not fit the project: an infrastructure error).
Nothing the other side builds after that can count, so its prepare build, warm-ups and
measured runs are not started and a running one is stopped: the host and its measurement lock
are free within seconds instead of after minutes of builds for a race that can never count.
"""

import threading


class RaceHalt:
    """What every build, lock wait and run loop of a race checks (`is_set()`, like an Event):
    set when the race is cancelled or has become void."""

    def __init__(self, cancel):
        self.cancel = cancel
        self.void_side = ""
        self.void_cause = ""
        self._void = threading.Event()
        self._guard = threading.Lock()

    def is_set(self):
        return self.cancel.is_set() or self._void.is_set()

    @property
    def is_void(self):
        return self._void.is_set()

    def make_void(self, side, cause):
        """Record the first side that could not run (a later one changes nothing)."""
        with self._guard:
            if self._void.is_set():
                return
            self.void_side, self.void_cause = side, cause or f"the {side} side could not run"
            self._void.set()

    def stopped_reason(self, ran):
        """What a side the void race stopped says: "stopped" when it had measured runs."""
        return (
            f"{'stopped' if ran else 'not run'}: the race is void because the "
            f"{self.void_side} side could not run"
        )
