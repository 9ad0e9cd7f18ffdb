"""The channel listener (buildarena/postgresql/listener.py): a thread of its own that hears
NOTIFY on a connection of its own and listens again when its link is killed."""

import threading

import pytest
from django.db import connection

from buildarena.postgresql.listener import ChannelListener
from tests.support import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "arena_listener_test"


class Recorder(ChannelListener):
    channel = CHANNEL
    thread_name = "test-listener"
    wait_seconds = 0.2

    def __init__(self):
        super().__init__()
        self.changes, self.payloads, self.errors = [], [], []
        self.listening = threading.Event()

    def listening_changed(self, listening):
        self.changes.append(listening)
        if listening:
            self.listening.set()
        else:
            self.listening.clear()

    def notified(self, notification):
        self.payloads.append(notification.payload)

    def lost(self, error):
        self.errors.append(error)


def notify(payload):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def listener_backends():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = %s",
            [f"LISTEN {CHANNEL}"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_killed_link_is_reported_and_listened_on_again():
    listener = Recorder().start()
    try:
        if connection.vendor != "postgresql":
            # SQLite cannot LISTEN: every attempt is reported lost, the thread lives on.
            assert wait_until(lambda: len(listener.errors) >= 2, timeout=10)
            assert True not in listener.changes and listener.thread.is_alive()
            return
        assert listener.listening.wait(10)
        notify("before")
        assert wait_until(lambda: listener.payloads == ["before"], timeout=5)

        [backend] = listener_backends()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        assert wait_until(lambda: listener.errors, timeout=10)
        assert wait_until(lambda: listener.changes[-3:] == [True, False, True], timeout=10)
        assert listener_backends() not in ([], [backend])
        notify("after")
        assert wait_until(lambda: listener.payloads == ["before", "after"], timeout=5)
    finally:
        listener.stop()
    assert not listener.thread.is_alive()
    assert listener.changes[-1] is False
