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

import threading

from django.db import connections

from buildarena.postgresql.listener import ChannelListener

QUEUED_CHANNEL = "arena_job_queued"


class QueueListener(ChannelListener):
    channel = QUEUED_CHANNEL
    thread_name = "queue-listener"

    def __init__(self, wake, *, using="default", log=print):
        super().__init__(using=using)
        self.wake = wake
        self.log = log
        self.listening = threading.Event()  # set while LISTEN is in force

    def listening_changed(self, listening):
        if listening:
            self.listening.set()
            self.wake.set()  # anything queued while not listening
        else:
            self.listening.clear()

    def notified(self, notification):
        self.wake.set()

    def lost(self, error):
        self.log(f"queue notifications lost ({error}); polling until they are back")


def start_queue_listener(wake, log=print, using="default"):
    """A started listener on PostgreSQL; None on SQLite (polling only)."""
    if connections[using].vendor != "postgresql":
        return None
    return QueueListener(wake, using=using, log=log).start()
