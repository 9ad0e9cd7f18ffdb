"""The database settings: SQLite file and pragmas on a real connection, DATABASE_URL."""

import re
import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.support import PROJECT_DIR, require_local_postgres, sqlite_env

# Runs in a child process: opens the configured database as the app does and reports.
PROBE = """
import sqlite3, sys
from django.db import connection, transaction
cursor = connection.cursor()
print("vendor", connection.vendor, connection.settings_dict["NAME"])
if connection.vendor == "postgresql":
    for name in ("idle_in_transaction_session_timeout", "tcp_user_timeout"):
        cursor.execute(f"SHOW {name}")
        print(name, cursor.fetchone()[0])
if connection.vendor == "sqlite":
    for pragma in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys"):
        print(pragma, cursor.execute(f"PRAGMA {pragma}").fetchone()[0])
    with transaction.atomic():
        # IMMEDIATE: the write lock is taken when the transaction begins, before any write.
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            other.execute("CREATE TABLE probe (x)")
            print("write_lock_at_begin no")
        except sqlite3.OperationalError as error:
            print("write_lock_at_begin", "yes" if "locked" in str(error) else error)
        other.close()
"""


def probe(env_overrides=(), drop=("DATABASE_URL", "DATABASE_PATH"), path=None):
    env = sqlite_env(path or "unused")
    for name in drop:
        env.pop(name, None)
    env.update(env_overrides)
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c", PROBE],
        env=env, capture_output=True, text=True, timeout=60, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())


def test_pragmas_in_effect_on_a_real_file(tmp_path):
    path = tmp_path / "arena.db"
    values = probe({"DATABASE_PATH": str(path)})
    assert values["journal_mode"] == "wal"
    assert values["synchronous"] == "2"  # FULL
    assert values["busy_timeout"] == "20000"
    assert values["foreign_keys"] == "1"
    assert values["vendor"] == f"sqlite {path}"
    assert values["write_lock_at_begin"] == "yes"
    assert path.exists()
    # WAL is recorded in the file itself: any other client (the sqlite3 CLI) sees it too.
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_busy_timeout_is_configurable(tmp_path):
    values = probe(
        {"DATABASE_PATH": str(tmp_path / "a.db"), "ARENA_SQLITE_BUSY_TIMEOUT_MS": "1234"}
    )
    assert values["busy_timeout"] == "1234"


def test_a_sqlite_database_url_gets_the_same_pragmas(tmp_path):
    path = tmp_path / "from-url.db"
    values = probe({"DATABASE_URL": f"sqlite:///{path}"})
    assert values["vendor"] == f"sqlite {path}"
    assert (values["journal_mode"], values["synchronous"], values["foreign_keys"]) == (
        "wal", "2", "1",
    )  # fmt: skip


def test_default_database_is_build_arena_db_beside_manage_py():
    env = sqlite_env("unused")
    env.pop("DATABASE_PATH")
    code = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c", code],
        env=env, capture_output=True, text=True, timeout=60, cwd=PROJECT_DIR, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == str(PROJECT_DIR / "build-arena.db")


def test_database_url_switches_to_postgresql():
    values = probe({"DATABASE_URL": require_local_postgres()})
    assert values["vendor"] == "postgresql test"


def test_postgresql_ends_sessions_of_clients_that_vanished_mid_transaction():
    """A host that lost its link must not hold row locks until TCP gives up: the server ends
    its session after ARENA_WORKER_DEAD_AFTER (scripts/netns_drill.py found the pool frozen)."""
    values = probe({"DATABASE_URL": require_local_postgres(), "ARENA_WORKER_DEAD_AFTER": "7"})
    assert values["idle_in_transaction_session_timeout"] == "7s"
    assert values["tcp_user_timeout"] == "7000"


@pytest.mark.django_db
def test_the_test_connection_uses_the_configured_engine():
    if connection.vendor == "sqlite":
        options = settings.DATABASES["default"]["OPTIONS"]
        assert options["transaction_mode"] == "IMMEDIATE"
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
    else:
        assert connection.vendor == "postgresql"
        assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_every_environment_variable_is_documented_in_the_readme():
    """README's configuration table has a row for each variable settings.py reads."""
    settings_source = (PROJECT_DIR / "buildarena" / "settings.py").read_text()
    readme = (PROJECT_DIR / "README.md").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"', settings_source))
    assert {"DATABASE_PATH", "DATABASE_URL", "SECRET_KEY", "DEBUG"} <= names
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    undocumented = sorted(name for name in names if not any(f"`{name}`" in r for r in rows))
    assert undocumented == [], f"add a row to README's configuration table for {undocumented}"


# Runs in a child process on PostgreSQL: three request cycles on one kept connection, the
# server ending that session before the third.
HEALTH_CHECK_PROBE = """
import select, time
import psycopg
from django.core.signals import request_finished, request_started
from django.db import connections
connection = connections["default"]
checks = []
usable = type(connection).is_usable
type(connection).is_usable = lambda self: checks.append(1) or usable(self)
def request():
    request_started.send(sender=None)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        request_finished.send(sender=None)
first, second = request(), request()
print("reused", first == second, len(checks))
with psycopg.connect(URL, autocommit=True) as other:
    other.execute("SELECT pg_terminate_backend(%s)", [second])
select.select([connection.connection.fileno()], [], [], 10)  # the server's goodbye
third = request()
print("replaced", third != second, len(checks))
"""


def test_postgresql_health_check_costs_no_round_trip_until_the_server_ends_the_session():
    """A kept connection with nothing to read is used without Django's `SELECT 1` (the live
    poll's second round trip); one the server has ended is checked, dropped and replaced,
    and the request never sees an error (buildarena/postgresql/base.py)."""
    url = require_local_postgres()
    env = sqlite_env("unused")
    env.update(DATABASE_URL=url)
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c",
         f"URL = {url!r}\n" + HEALTH_CHECK_PROBE],
        env=env, capture_output=True, text=True, timeout=60, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[-2:]
    assert lines == ["reused True 0", "replaced True 1"], result.stdout


# Runs in a child process on PostgreSQL: one statement through the cursor for repeated
# statements and one through Django's usual cursor, seven times each.
PREPARE_PROBE = """
from django.db import connection
from jobs.live.round_trips import repeated_query_cursor
for _ in range(7):
    with repeated_query_cursor(connection) as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::int + 2", [40])
connection.force_debug_cursor = True
with repeated_query_cursor(connection) as cursor:
    cursor.execute("SELECT %s::int + 1", [41])
print(connection.queries[-1]["sql"])
connection.force_debug_cursor = False
with connection.cursor() as cursor:
    cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    print(sorted(cursor.fetchall()))
"""


@pytest.mark.parametrize(
    ("setting", "prepared"),
    [("1", [("SELECT $1::int + 1", 3, 0)]), ("0", [])],
)
def test_repeated_statements_are_prepared_and_planned_once_on_postgresql(setting, prepared):
    """After five runs on a connection, a statement through repeated_query_cursor is prepared
    with a generic plan (the sixth to eighth runs use it) and logged with its values; Django's
    usual cursor never prepares, and ARENA_POSTGRES_PREPARE=0 turns preparation off
    (buildarena/postgresql/base.py)."""
    url = require_local_postgres()
    env = sqlite_env("unused")
    env.update(DATABASE_URL=url, ARENA_POSTGRES_PREPARE=setting)
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), "shell", "-v", "0", "-c", PREPARE_PROBE],
        env=env, capture_output=True, text=True, timeout=60, cwd=PROJECT_DIR,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    *_, logged, statements = result.stdout.splitlines()
    assert logged == "SELECT 41::int + 1"
    assert statements == repr(prepared)
