"""PostgreSQL: NOTIFY arena_job_queued in the transaction that queues a job (any path).

Idle workers LISTEN on it (workers/queue_listener.py) and claim at once instead of at their
next poll. The payload is empty, so PostgreSQL folds the notifications of one transaction
(a requeue of many jobs) into one. Nothing on SQLite, where workers poll.
"""

from django.db import migrations

CREATE = ("""
CREATE OR REPLACE FUNCTION arena_notify_job_queued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('arena_job_queued', '');
    RETURN NULL;
END
$$
""", "DROP TRIGGER IF EXISTS jobs_notify_queued ON jobs", """
CREATE TRIGGER jobs_notify_queued
    AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued')
    EXECUTE FUNCTION arena_notify_job_queued()
""")
DROP = (
    "DROP TRIGGER IF EXISTS jobs_notify_queued ON jobs",
    "DROP FUNCTION IF EXISTS arena_notify_job_queued()",
)


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0005_ranking_index_nulls_last_without_duplicate_indexes"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
