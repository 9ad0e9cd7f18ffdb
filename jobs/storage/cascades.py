"""ON DELETE CASCADE in the database itself, as the seed's schema declares it.

Django emulates `on_delete=CASCADE` in Python, so deleting through the ORM or the admin already
removes a job's build results and assignments. Raw SQL does not go through Django: the
original's maintenance habit `sqlite3 build-arena.db "DELETE FROM jobs WHERE ..."` (where the
CLI leaves foreign keys off) would leave orphan rows. Two triggers give the database the
seed's behaviour: deleting a job deletes its results and assignments; deleting a worker
deletes its assignments.

They are dropped before `migrate` runs (pre_migrate) and created again after it (post_migrate):
on SQLite Django rebuilds a table to alter it, which drops the triggers on that table and
would trip over triggers that name a table being rebuilt.
"""

from django.db import connections

TRIGGER_NAMES = ("jobs_delete_cascade", "workers_delete_cascade")
TABLES = {"jobs", "build_results", "workers", "worker_assignments"}

SQLITE_CREATE = (
    """CREATE TRIGGER IF NOT EXISTS jobs_delete_cascade BEFORE DELETE ON jobs FOR EACH ROW
    BEGIN
        DELETE FROM build_results WHERE job_id = OLD.id;
        DELETE FROM worker_assignments WHERE job_id = OLD.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS workers_delete_cascade BEFORE DELETE ON workers FOR EACH ROW
    BEGIN
        DELETE FROM worker_assignments WHERE worker_id = OLD.id;
    END""",
)
SQLITE_DROP = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES)

POSTGRESQL_CREATE = (
    """CREATE OR REPLACE FUNCTION jobs_delete_cascade() RETURNS trigger AS $$
    BEGIN
        DELETE FROM build_results WHERE job_id = OLD.id;
        DELETE FROM worker_assignments WHERE job_id = OLD.id;
        RETURN OLD;
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION workers_delete_cascade() RETURNS trigger AS $$
    BEGIN
        DELETE FROM worker_assignments WHERE worker_id = OLD.id;
        RETURN OLD;
    END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS jobs_delete_cascade ON jobs",
    """CREATE TRIGGER jobs_delete_cascade BEFORE DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_delete_cascade()""",
    "DROP TRIGGER IF EXISTS workers_delete_cascade ON workers",
    """CREATE TRIGGER workers_delete_cascade BEFORE DELETE ON workers
    FOR EACH ROW EXECUTE FUNCTION workers_delete_cascade()""",
)
POSTGRESQL_DROP = tuple(
    f"DROP TRIGGER IF EXISTS {name} ON {name.split('_')[0]}" for name in TRIGGER_NAMES
)


def _statements(connection, create):
    if connection.vendor == "sqlite":
        return SQLITE_CREATE if create else SQLITE_DROP
    if connection.vendor == "postgresql":
        return POSTGRESQL_CREATE if create else POSTGRESQL_DROP
    return ()


def _run(using, create):
    connection = connections[using]
    statements = _statements(connection, create)
    if not statements or not set(connection.introspection.table_names()) >= TABLES:
        return False
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return True


def install_delete_cascades(using="default"):
    """Create the triggers (idempotent). Returns False when the tables are not there yet."""
    return _run(using, create=True)


def remove_delete_cascades(using="default"):
    return _run(using, create=False)


def before_migrate(sender, using="default", **kwargs):
    if sender.label == "jobs":
        remove_delete_cascades(using)


def after_migrate(sender, using="default", **kwargs):
    if sender.label == "jobs":
        install_delete_cascades(using)
