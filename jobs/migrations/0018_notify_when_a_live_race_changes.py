"""PostgreSQL: NOTIFY arena_race_changed, payload the job's id, in every transaction that
changes what a live race's poll state is read from (jobs.live.snapshot.race_state).

Each web process keeps the states of queued and running races and drops a race's state when
its notification arrives (jobs/live/race_state_cache.py), so most polls answer without a query.
What must notify, and what must stay silent:

- `jobs`: any update of a job that is or becomes queued or running (status, worker, commit;
  a cancel, a claim, a requeue, a recovery, the recorder's verdict), and the deletion of one.
  A job inserted needs nothing: a race that did not exist was never kept.
- `build_results`: the insertion of a pending result (a race starting); any update or
  deletion of a pending result (output appended, phase, tool, the side's end), and of a
  finished result whose job is queued or running (a side compacted by housekeeping while the
  other still builds, results deleted when a race is run again). Finished results of
  finished races only need the job lookup, and inserting them (demo data, the legacy
  import: many rows in one COPY) is filtered by the WHEN clause before any function runs.
- TRUNCATE of either table: an empty payload, "every race may have changed".

PostgreSQL delivers a transaction's notifications when it commits, folds identical ones of
one transaction into one, and never delivers those of a rolled-back transaction. Nothing on
SQLite, where polls always query.
"""

from django.db import migrations

CHANNEL = "arena_race_changed"
ACTIVE = "('queued', 'running')"

CREATE = (
    f"""
CREATE OR REPLACE FUNCTION arena_notify_job_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{CHANNEL}', OLD.id);
    ELSE
        PERFORM pg_notify('{CHANNEL}', NEW.id);
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION arena_notify_result_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND (
        OLD.status = 'pending'
        OR (TG_OP = 'UPDATE' AND NEW.status = 'pending')
        OR EXISTS (SELECT 1 FROM jobs WHERE id = OLD.job_id AND status IN {ACTIVE})
    ) THEN
        PERFORM pg_notify('{CHANNEL}', OLD.job_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.job_id IS DISTINCT FROM OLD.job_id) THEN
        IF NEW.status = 'pending'
            OR EXISTS (SELECT 1 FROM jobs WHERE id = NEW.job_id AND status IN {ACTIVE}) THEN
            PERFORM pg_notify('{CHANNEL}', NEW.job_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",  # noqa: S608 (constants)
    f"""
CREATE OR REPLACE FUNCTION arena_notify_races_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$
""",
    f"""
CREATE TRIGGER jobs_notify_race_changed_update
    AFTER UPDATE ON jobs FOR EACH ROW
    WHEN (OLD.status IN {ACTIVE} OR NEW.status IN {ACTIVE})
    EXECUTE FUNCTION arena_notify_job_changed()
""",
    f"""
CREATE TRIGGER jobs_notify_race_changed_delete
    AFTER DELETE ON jobs FOR EACH ROW
    WHEN (OLD.status IN {ACTIVE})
    EXECUTE FUNCTION arena_notify_job_changed()
""",
    """
CREATE TRIGGER build_results_notify_race_changed_insert
    AFTER INSERT ON build_results FOR EACH ROW
    WHEN (NEW.status = 'pending')
    EXECUTE FUNCTION arena_notify_result_changed()
""",
    """
CREATE TRIGGER build_results_notify_race_changed
    AFTER UPDATE OR DELETE ON build_results FOR EACH ROW
    EXECUTE FUNCTION arena_notify_result_changed()
""",
    """
CREATE TRIGGER jobs_notify_races_truncated
    AFTER TRUNCATE ON jobs FOR EACH STATEMENT
    EXECUTE FUNCTION arena_notify_races_truncated()
""",
    """
CREATE TRIGGER build_results_notify_races_truncated
    AFTER TRUNCATE ON build_results FOR EACH STATEMENT
    EXECUTE FUNCTION arena_notify_races_truncated()
""",
)
DROP = (
    "DROP TRIGGER IF EXISTS jobs_notify_race_changed_update ON jobs",
    "DROP TRIGGER IF EXISTS jobs_notify_race_changed_delete ON jobs",
    "DROP TRIGGER IF EXISTS build_results_notify_race_changed_insert ON build_results",
    "DROP TRIGGER IF EXISTS build_results_notify_race_changed ON build_results",
    "DROP TRIGGER IF EXISTS jobs_notify_races_truncated ON jobs",
    "DROP TRIGGER IF EXISTS build_results_notify_races_truncated ON build_results",
    "DROP FUNCTION IF EXISTS arena_notify_job_changed()",
    "DROP FUNCTION IF EXISTS arena_notify_result_changed()",
    "DROP FUNCTION IF EXISTS arena_notify_races_truncated()",
)


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in (*DROP, *CREATE):
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0017_build_result_output_bytes"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
