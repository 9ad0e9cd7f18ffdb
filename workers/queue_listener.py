"""Wake idle workers the moment a job is queued: PostgreSQL LISTEN/NOTIFY.

A trigger on `jobs` (migration jobs 0006) sends NOTIFY on QUEUED_CHANNEL in the transaction
that queues a job, whichever path queued it (a submission, a requeue, a race handed back by a
stopped or dead worker); PostgreSQL delivers it when that transaction commits, never before.
Each worker process listens on a connection of its own, in a thread that only sets the loop's
wake event, so an idle worker claims a new race within milliseconds instead of at its next
poll. Polling stays: it is the fallback when the listening connection is lost (it reconnects
with a back-off, and wakes the loop once after reconnecting, for jobs queued meanwhile) and
the only mechanism on SQLite, which has no notifications.
"""

import contextlib
import threading

from django.db import DatabaseError, connections

QUEUED_CHANNEL = "arena_job_queued"
# How long one wait for notifications lasts before the thread checks whether to stop.
WAIT_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 10.0


class QueueListener:
    def __init__(self, wake, *, using="default", log=print):
        self.wake = wake
        self.using = using
        self.log = log
        self.stopped = threading.Event()
        self.listening = threading.Event()  # set while LISTEN is in force
        self.thread = threading.Thread(target=self._run, name="queue-listener", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self, timeout=WAIT_SECONDS * 3):
        self.stopped.set()
        self.thread.join(timeout)

    def _run(self):
        delay = 0.5
        while not self.stopped.is_set():
            database = connections.create_connection(self.using)
            try:
                database.ensure_connection()
                raw = database.connection
                raw.execute(f"LISTEN {QUEUED_CHANNEL}")
                self.listening.set()
                delay = 0.5
                self.wake.set()  # anything queued while not listening
                while not self.stopped.is_set():
                    for _ in raw.notifies(timeout=WAIT_SECONDS):
                        self.wake.set()
            except Exception as exc:
                if not self.stopped.is_set():
                    self.log(f"queue notifications lost ({exc}); polling until they are back")
            finally:
                self.listening.clear()
                with contextlib.suppress(DatabaseError):
                    database.close()
            self.stopped.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)


def start_queue_listener(wake, log=print, using="default"):
    """A started listener on PostgreSQL; None on SQLite (polling only)."""
    if connections[using].vendor != "postgresql":
        return None
    return QueueListener(wake, using=using, log=log).start()
