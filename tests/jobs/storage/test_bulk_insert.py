"""Bulk loads end with fresh planner statistics (pg_stats / sqlite_stat1), no manual step."""

import pytest
from django.core.management import call_command
from django.db import connection

from jobs.demo.mock_data import seed_random_races
from tests.jobs.storage.test_legacy_import import JOBS, RESULTS, legacy_db


def execute_on_statistics(cursor, *, postgresql, sqlite):
    """Run this database's statement on the planner's statistics; False (nothing run) on
    SQLite before any ANALYZE created sqlite_stat1."""
    if connection.vendor == "postgresql":
        cursor.execute(postgresql)
        return True
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if cursor.fetchone() is None:
        return False
    cursor.execute(sqlite)
    return True


def forget_statistics():
    """Drop what the planner knows about the two tables (inside the test's transaction)."""
    with connection.cursor() as cursor:
        execute_on_statistics(
            cursor,
            postgresql="DELETE FROM pg_statistic WHERE starelid IN ('jobs'::regclass, "
            "'build_results'::regclass)",
            sqlite="DELETE FROM sqlite_stat1",
        )


def tables_with_statistics():
    with connection.cursor() as cursor:
        if not execute_on_statistics(
            cursor,
            postgresql="SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = "
            "current_schema() AND tablename IN ('jobs', 'build_results')",
            sqlite="SELECT DISTINCT tbl FROM sqlite_stat1 WHERE tbl IN ('jobs', 'build_results')",
        ):
            return set()
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def legacy_file(tmp_path):
    return legacy_db(tmp_path / "build-arena.db", jobs=JOBS, results=RESULTS)


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["seed_mock_data", "import_legacy_db", "compact_outputs"])
def test_bulk_loads_leave_the_planner_statistics(command, legacy_file):
    arguments = {
        "seed_mock_data": ["--jobs", "40", "--seed", "3"],
        "import_legacy_db": [str(legacy_file)],
        "compact_outputs": [],
    }[command]
    if command == "compact_outputs":
        seed_random_races(20, seed=4)  # plain-text logs for it to compact
    forget_statistics()
    assert tables_with_statistics() == set()

    call_command(command, *arguments, verbosity=0)

    assert tables_with_statistics() == {"jobs", "build_results"}
