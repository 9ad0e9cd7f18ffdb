"""Live races' poll state kept in each web process, so most polls answer 204 without a query.

Every open race page polls once a second, and almost every poll finds nothing new
(`RaceState.unchanged_for`). On PostgreSQL the query that says so is a network round trip,
which costs the poll more than everything else it does. PostgreSQL can tell instead: triggers
(migration jobs 0018) send NOTIFY on CHANNEL with the job's id in every transaction that
changes what a queued or running race's state is read from. Each web process keeps the
states of live races it has read (`RaceStateCache`) and a thread (`StateListener`) LISTENs on
a connection of its own and drops a race's state when its notification arrives. A poll
whose race has a kept state that is unchanged for the client answers at once; any other poll
queries as before (jobs.live.poll.poll_snapshot) and keeps the state it read if the race is
live.

A page may see a change late by no more than the time a notification takes to arrive, and
never misses one, because of three rules:

- Only while listening. The cache is used only while LISTEN is in force and the listening
  connection answered a check lately (a dead link may report nothing for minutes); it is
  emptied when listening starts and when it stops, and a state read across either moment is
  not kept.
- No state older than its notification. A notification's effects are visible to every query
  that starts after PostgreSQL delivers it. So a poll notes the notification sequence number
  before its query (`reading`), and its state is kept only if no notification for that race
  (nor a "forget everything") came after that number (`Reading.keep`); one that comes after
  the state is kept drops it. Per-race numbers are bounded: forgetting old ones raises the
  floor below which no reading may keep anything.
- Only committed states. A poll inside a transaction (tests, or a request wrapped in one)
  may read its own uncommitted writes or an old snapshot: it neither uses nor keeps states.

SQLite has no notifications: polls always query there. `ARENA_POLL_STATE_CACHE=0` turns the
cache off, for a connection pooler in transaction mode, where LISTEN does not work.
"""

import logging
import os
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.db import connection

from buildarena.postgresql.listener import ChannelListener

logger = logging.getLogger(__name__)

CHANNEL = "arena_race_changed"
# Races whose state a process keeps (a race needs a few hundred bytes); the least recently
# polled is dropped first. Polls of a dropped race query, as without a cache.
MAX_STATES = 4096
# Races whose latest notification number is remembered; beyond it the oldest are forgotten
# (see `RaceStateCache._remember`).
MAX_NOTIFIED = 4 * MAX_STATES
# How long one wait for notifications lasts before the thread checks whether to stop.
WAIT_SECONDS = 0.5
# How often the listening connection is checked with a query: a link that died silently
# delivers nothing and reports nothing until something is sent on it.
CHECK_SECONDS = 3.0
# How long after the last answered check kept states are trusted: a listener stuck on a dead
# link (its check waiting for TCP to give up) stops being trusted after this, not minutes later.
TRUST_SECONDS = 10.0


class Reading:
    """One poll's use of the cache: the kept state (or None), and the sequence number taken
    before the poll's query, which decides whether the state it reads may be kept."""

    __slots__ = ("cache", "job_id", "sequence", "state")

    def __init__(self, cache, job_id, sequence, state):
        self.cache = cache
        self.job_id = job_id
        self.sequence = sequence
        self.state = state

    def keep(self, state):
        """Keep `state`, read by a query that began after this reading, if it still holds."""
        if self.cache is not None and state.exists and state.active:
            self.cache.keep(self, state)


# What polls get when the cache is not in use: no state, nothing kept.
UNCACHED = Reading(None, "", 0, None)


class RaceStateCache:
    """States of live races, valid while listening and until their race's next notification.

    Thread-safe: polls run in any of the process's threads, notifications in the listener's.
    """

    def __init__(self, max_states=MAX_STATES, max_notified=MAX_NOTIFIED, trust=TRUST_SECONDS):
        self.max_states = max_states
        self.max_notified = max_notified
        self.trust = trust
        self._lock = threading.Lock()
        self._states = OrderedDict()  # job id -> RaceState, least recently polled first
        self._notified = OrderedDict()  # job id -> number of its latest notification
        self._sequence = 0  # numbers notifications (and "forget everything") as they arrive
        self._floor = 0  # readings numbered below this keep nothing
        self._listening = False
        self._trusted_until = 0.0  # time.monotonic() after which nothing kept is used

    @property
    def listening(self):
        return self._listening

    def reading(self, job_id):
        """The kept state of `job_id` for a poll about to run; UNCACHED while not trusted."""
        with self._lock:
            if not self._trusted():
                return UNCACHED
            state = self._states.get(job_id)
            if state is not None:
                self._states.move_to_end(job_id)
            return Reading(self, job_id, self._sequence, state)

    def keep(self, reading, state):
        with self._lock:
            job_id = reading.job_id
            if (
                not self._trusted()
                or reading.sequence < self._floor
                or self._notified.get(job_id, 0) > reading.sequence
            ):
                return  # a notification may have come after the query began
            self._states[job_id] = state
            self._states.move_to_end(job_id)
            while len(self._states) > self.max_states:
                self._states.popitem(last=False)

    def _trusted(self):
        return self._listening and time.monotonic() < self._trusted_until

    def last_heard(self, job_id):
        """The number of the latest notification heard for `job_id`, None when none is
        remembered."""
        with self._lock:
            return self._notified.get(job_id)

    def __len__(self):
        return len(self._states)

    def __contains__(self, job_id):
        return job_id in self._states

    # --- the listener's side ------------------------------------------------------------
    def changed(self, job_id):
        """A notification: the race's state may have changed ("" = every race's may have)."""
        with self._lock:
            self._sequence += 1
            if not job_id:
                self._forget_all()
                return
            self._states.pop(job_id, None)
            self._remember(job_id)

    def _remember(self, job_id):
        """Note the race's latest notification. Forgetting the oldest notes raises the floor to
        their number: a reading older than that could not tell whether its race was among them.
        """
        self._notified[job_id] = self._sequence
        self._notified.move_to_end(job_id)
        while len(self._notified) > self.max_notified:
            _, number = self._notified.popitem(last=False)
            self._floor = max(self._floor, number)

    def _forget_all(self):
        self._states.clear()
        self._notified.clear()
        self._floor = self._sequence

    def set_listening(self, listening):
        """LISTEN came in force or was lost: whatever happened meanwhile was not heard."""
        with self._lock:
            self._sequence += 1
            self._forget_all()
            self._listening = listening
            self._trusted_until = time.monotonic() + self.trust if listening else 0.0

    def confirm(self, answered_at):
        """The listening link answered a query at `answered_at` (time.monotonic()), and every
        notification received before that answer has been applied: trust it a while longer."""
        with self._lock:
            if self._listening:
                self._trusted_until = answered_at + self.trust


class StateListener(ChannelListener):
    """LISTEN on CHANNEL, feeding `cache`; the link is checked every CHECK_SECONDS, and the
    cache trusts its states only while the link answers (RaceStateCache.confirm)."""

    channel = CHANNEL
    thread_name = "race-state-listener"
    wait_seconds = WAIT_SECONDS

    def __init__(self, cache, *, using="default"):
        super().__init__(using=using)
        self.cache = cache

    def listening_changed(self, listening):
        self.cache.set_listening(listening)

    def lost(self, error):
        logger.warning("race state notifications lost (%s); polls query", error)

    def listen(self, raw):
        checked = time.monotonic()
        answered = None
        while not self.stopped.is_set():
            # First the notifications that came with the check's answer (psycopg keeps them).
            for notification in raw.notifies(timeout=WAIT_SECONDS):
                self.cache.changed(notification.payload)
            if answered is not None:
                self.cache.confirm(answered)
                answered = None
            if time.monotonic() - checked >= CHECK_SECONDS:
                raw.execute("SELECT 1")
                answered = checked = time.monotonic()


class _ProcessStates:
    """The cache and listener of one process (a forked child starts its own)."""

    def __init__(self):
        self.pid = os.getpid()
        self.cache = RaceStateCache()
        self.listener = StateListener(self.cache).start()


_process_lock = threading.Lock()
_process_states = None


def _after_fork_in_child():
    global _process_lock, _process_states
    _process_lock = threading.Lock()  # a lock held by another thread at fork stays held
    _process_states = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def in_use():
    """Whether polls in this thread use the cache now: on PostgreSQL with the setting on, and
    outside any transaction (a poll inside one may read its own uncommitted writes)."""
    return (
        settings.ARENA_POLL_STATE_CACHE
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def process_cache():
    """This process's cache, its listener started on first use (after any fork)."""
    global _process_states
    states = _process_states
    if states is None or states.pid != os.getpid():
        with _process_lock:
            if _process_states is None or _process_states.pid != os.getpid():
                _process_states = _ProcessStates()
            states = _process_states
    return states.cache


def reading(job_id):
    """A poll's reading of `job_id`'s kept state (UNCACHED when the cache is not in use)."""
    if not in_use():
        return UNCACHED
    return process_cache().reading(job_id)


def shutdown():
    """Stop this process's listener, if one runs, and drop its cache."""
    global _process_states
    with _process_lock:
        states, _process_states = _process_states, None
    if states is not None and states.pid == os.getpid():
        states.listener.stop()
