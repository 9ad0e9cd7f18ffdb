"""A thread that LISTENs on a PostgreSQL channel on a connection of its own.

Workers listen for queued races (workers/queue_listener.py) and web processes for changed
live races (jobs/live/race_state_cache.py). Both need the same care: a daemon thread, so a
process never waits for it to exit; a connection of its own, never one a request or the
worker loop uses; and a link that may drop at any moment (a restart, a failover, a killed
backend), after which the thread connects again with a doubling back-off. What a
notification means is the subclass's: `listening_changed` says when LISTEN comes in force or
is lost (what was sent meanwhile was not heard), `notified` receives each notification.
"""

import contextlib
import threading

from django.db import DatabaseError, connections

# The first wait before connecting again after a lost link; it doubles up to the maximum.
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0


class ChannelListener:
    channel = ""
    thread_name = "listener"
    # How long one wait for notifications lasts before the thread checks whether to stop.
    wait_seconds = 1.0

    def __init__(self, *, using="default"):
        self.using = using
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self, timeout=None):
        self.stopped.set()
        self.thread.join(self.wait_seconds * 4 if timeout is None else timeout)

    # --- what a subclass says ----------------------------------------------------------------

    def listening_changed(self, listening):
        """LISTEN came in force (True) or was lost (False)."""

    def notified(self, notification):
        """One notification (psycopg's Notify: channel, payload, pid)."""

    def lost(self, error):
        """The link failed with `error`; the thread connects again after a back-off."""

    def listen(self, raw):
        """Receive notifications on `raw` (a psycopg connection) until stopped."""
        while not self.stopped.is_set():
            for notification in raw.notifies(timeout=self.wait_seconds):
                self.notified(notification)

    # --- the thread --------------------------------------------------------------------------

    def _run(self):
        delay = RECONNECT_FIRST_SECONDS
        while not self.stopped.is_set():
            database = None
            try:
                database = connections.create_connection(self.using)
                database.ensure_connection()
                raw = database.connection
                raw.execute(f"LISTEN {self.channel}")
                self.listening_changed(True)
                delay = RECONNECT_FIRST_SECONDS
                self.listen(raw)
            except Exception as error:
                if not self.stopped.is_set():
                    self.lost(error)
            finally:
                self.listening_changed(False)
                if database is not None:
                    with contextlib.suppress(DatabaseError):
                        database.close()
            self.stopped.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
