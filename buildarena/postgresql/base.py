"""Django's PostgreSQL backend, with a health check that costs no round trip when the
connection is evidently fine.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every request that
reuses a connection: on the live poll, a request of one query, that is a second round trip.
An idle connection the server has ended (restart, pg_terminate_backend, a session timeout)
has something to read: the server's goodbye or the end of the stream. So the socket is
looked at first, without waiting: nothing to read, and psycopg not knowing it broken, means
the connection is usable as far as any check could tell without a query; anything to read
(or a broken connection) leads to Django's own check, which reconnects when it fails. A
link that dies silently is caught by neither check before a query; `tcp_user_timeout` (see
settings.py) bounds that wait.

`prepared_cursor()` serves the few statements that run many times a second on every
connection (the live poll, a race or the recent races with both results): psycopg binds
their parameters on the server, and once one has run `prepare_threshold` times on a
connection (settings.py: 5 unless ARENA_POSTGRES_PREPARE=0) it is prepared and planned once,
generically (`plan_cache_mode`), instead of on each call: planning the recent races' four-way
join took 1.9 ms against 0.6 ms to run it, and left to choose, the server kept planning it
anew. Every other query keeps Django's client-side binding, which never prepares.
"""

import select

import psycopg
from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """The statement with its values, for the query log, whichever cursor ran it (a
        statement bound on the server holds `$1` where its values go)."""
        if isinstance(cursor, psycopg.ClientCursor):
            return super().last_executed_query(cursor, sql, params)
        try:
            return self.compose_sql(sql, params)
        except psycopg.errors.DataError:
            return None


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and self._evidently_usable()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _evidently_usable(self):
        if self.connection.broken or self.connection.closed:
            return False
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def prepared_cursor(self):
        """A cursor like `cursor()` (wrapped, counted and logged like any other) that binds on
        the server, so that the statements it runs repeatedly get prepared."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        client_binding = self.connection.cursor_factory
        self.connection.cursor_factory = psycopg.Cursor
        try:
            return self.cursor()
        finally:
            self.connection.cursor_factory = client_binding
