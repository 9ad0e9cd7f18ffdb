"""Queries that do in one round trip what the ORM would do in several.

On PostgreSQL every round trip costs about as much as the query itself (0.3-0.4 ms on one
machine), so the two services every page and API call runs are built to need one:

- `insert_job_within_limit`: the job's INSERT carries the queue-limit check in its WHERE
  clause, and runs without a transaction of its own (in autocommit the statement commits
  itself: no BEGIN, no COMMIT, no savepoint, no COUNT before it);
- `jobs_with_sides`: jobs and both of their results from one SELECT with two LEFT JOINs on
  the (job_id, build_type) unique index, instead of a query for the jobs and a second for
  the prefetched results. The results are attached exactly as prefetch_related would, so
  `job.results.all()`, `job.elide_result` and `result.job` ask nothing more.
"""

from contextlib import nullcontext

from django.db import connections, router, transaction
from django.db.models import FilteredRelation, Q

from jobs.models import BuildResult, BuildType, Job, JobStatus

LOG_COLUMNS = ("output", "output_timing", "output_compressed", "output_timing_compressed")
SIDES = (BuildType.ELIDE, BuildType.STANDARD)  # the order of BuildResult.Meta.ordering
JOB_FIELDS = tuple(field.attname for field in Job._meta.concrete_fields)


def result_fields(with_output):
    return tuple(
        field.attname
        for field in BuildResult._meta.concrete_fields
        if with_output or field.attname not in LOG_COLUMNS
    )


def insert_job_within_limit(job, limit):
    """INSERT the job unless `limit` jobs are queued already. Returns whether it was inserted.

    One statement: INSERT INTO jobs (...) SELECT <values> WHERE (SELECT COUNT(*) FROM (the
    first `limit` queued jobs)) < limit. The count walks jobs_status_created_idx and stops at
    `limit`. Inside an outer transaction the statement gets a savepoint, so that a refused
    CHECK constraint leaves that transaction usable.
    """
    using = router.db_for_write(Job)
    connection = connections[using]
    fields = Job._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    params = [field.get_db_prep_save(field.pre_save(job, True), connection) for field in fields]
    if connection.vendor == "postgresql":
        # A parameter in a SELECT list has no type of its own (NULL would be text).
        values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    else:
        values = ", ".join("%s" for _ in fields)
    table = connection.ops.quote_name(Job._meta.db_table)
    # Table and column names come from the model, values are parameters.
    sql = f"INSERT INTO {table} ({columns}) SELECT {values}"
    if limit:
        queued = f"SELECT 1 FROM {table} WHERE status = %s LIMIT %s"  # noqa: S608
        sql += f" WHERE (SELECT COUNT(*) FROM ({queued}) AS queued) < %s"  # noqa: S608
        params += [JobStatus.QUEUED, limit, limit]
    guard = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount == 1
    if inserted:
        job._state.adding = False
        job._state.db = using
    return inserted


def jobs_with_sides(queryset, *, with_output=False, limit=None):
    """The queryset's jobs (the first `limit`), each with both results attached. One query."""
    fields = result_fields(with_output)
    side_columns = [f"{side}_side__{name}" for side in SIDES for name in fields]
    relations = {
        f"{side}_side": FilteredRelation("results", condition=Q(results__build_type=side))
        for side in SIDES
    }
    rows = queryset.annotate(**relations).values_list(*JOB_FIELDS, *side_columns)
    if limit is not None:
        rows = rows[:limit]
    db = rows.db
    jobs = []
    width = len(fields)
    for row in rows:
        job = Job.from_db(db, JOB_FIELDS, row[: len(JOB_FIELDS)])
        results = []
        for index in range(len(SIDES)):
            start = len(JOB_FIELDS) + index * width
            values = row[start : start + width]
            if values[0] is None:  # the side's primary key: no such result
                continue
            result = BuildResult.from_db(db, fields, values)
            result._state.fields_cache["job"] = job
            results.append(result)
        attach_results(job, results)
        jobs.append(job)
    return jobs


def attach_results(job, results):
    """Store results as prefetch_related("results") would, so results.all() is no query."""
    cached = job.results.all()
    cached._result_cache = results
    cached._prefetch_done = True
    job._prefetched_objects_cache = {"results": cached}
