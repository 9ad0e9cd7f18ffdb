"""Queries that do in one round trip what the ORM would do in several.

On PostgreSQL every round trip costs about as much as the query itself (0.3-0.4 ms on one
machine), so the two services every page and API call runs are built to need one:

- `insert_job_within_limit`: the job's INSERT carries the queue-limit check in its WHERE
  clause, and runs without a transaction of its own (in autocommit the statement commits
  itself: no BEGIN, no COMMIT, no savepoint, no COUNT before it);
- `JobsWithSides`: jobs and both of their results from one SELECT with two LEFT JOINs on
  the (job_id, build_type) unique index, instead of a query for the jobs and a second for
  the prefetched results. The results are attached exactly as prefetch_related would, so
  `job.results.all()`, `job.elide_result` and `result.job` ask nothing more;
- `model_reader`: model instances from hand-written SQL (the live poll's single query) with
  the conversions the ORM applies;
- `repeated_query_cursor`: the cursor for those statements, which run many times a second:
  on PostgreSQL the server keeps them prepared instead of planning each call.
"""

import functools
from contextlib import nullcontext

from django.db import connections, router, transaction
from django.db.models import FilteredRelation, Q

from jobs.models import BuildResult, Job, JobStatus
from jobs.outcomes.vocabulary import SIDES  # Elide first: the order of BuildResult.Meta.ordering

LOG_COLUMNS = ("output", "output_timing", "output_compressed", "output_timing_compressed")
JOB_FIELDS = tuple(field.attname for field in Job._meta.concrete_fields)


def repeated_query_cursor(connection):
    """A cursor for a statement run over and over: on PostgreSQL one whose statements the
    server keeps prepared (buildarena/postgresql/base.py), else the usual cursor."""
    prepared_cursor = getattr(connection, "prepared_cursor", None)
    return prepared_cursor() if prepared_cursor else connection.cursor()


def result_fields(with_output):
    return tuple(
        field.attname
        for field in BuildResult._meta.concrete_fields
        if with_output or field.attname not in LOG_COLUMNS
    )


def insert_job_within_limit(job, limit):
    """INSERT the job unless `limit` jobs are queued already. Returns whether it was inserted.

    One statement: INSERT INTO jobs (...) SELECT <values> WHERE (SELECT COUNT(*) FROM (the
    first `limit` queued jobs)) < limit. The count reads an index on status and stops at
    `limit`. Inside an outer transaction the statement gets a savepoint, so that a refused
    CHECK constraint leaves that transaction usable. On PostgreSQL the statement is prepared
    (repeated_query_cursor): planning the count beside the insert cost more than running the
    whole statement; the status and the limit are written into it (neither comes from a
    user), so that its one generic plan is the plan for queued races.
    """
    using = router.db_for_write(Job)
    connection = connections[using]
    fields = Job._meta.concrete_fields
    params = [field.get_db_prep_save(field.pre_save(job, True), connection) for field in fields]
    sql = _insert_within_limit_sql(using, int(limit or 0))
    guard = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    with guard, repeated_query_cursor(connection) as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount == 1
    if inserted:
        job._state.adding = False
        job._state.db = using
    return inserted


@functools.cache
def _insert_within_limit_sql(using, limit):
    """insert_job_within_limit's statement, written once per database and limit."""
    connection = connections[using]
    fields = Job._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    if connection.vendor == "postgresql":
        # A parameter in a SELECT list has no type of its own (NULL would be text).
        values = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    else:
        values = ", ".join("%s" for _ in fields)
    table = connection.ops.quote_name(Job._meta.db_table)
    # Table and column names come from the model, values are parameters.
    sql = f"INSERT INTO {table} ({columns}) SELECT {values}"
    if limit:
        queued = f"SELECT 1 FROM {table} WHERE status = '{JobStatus.QUEUED}' LIMIT {limit}"  # noqa: S608
        sql += f" WHERE (SELECT COUNT(*) FROM ({queued}) AS queued) < {limit}"  # noqa: S608
    return sql


class JobsWithSides:
    """Jobs with both of their results, from one SELECT compiled once.

    `build(*arguments)` returns the jobs' queryset (filters, order). The ORM compiles it, with
    the two LEFT JOINs, once per database, shape and limit; later calls run the SQL with the
    new arguments in place. Building a 60-column query with two filtered joins cost the ORM
    about ten times what the query itself costs, on every call.
    """

    def __init__(self, build):
        self.build = build
        self._compiled = {}

    def __call__(self, *arguments, with_output=False, limit=None):
        using = router.db_for_read(Job)
        key = (using, len(arguments), with_output, limit)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(
                using, len(arguments), with_output, limit
            )
        sql, params, slots, converters, fields = compiled
        params = list(params)
        for slot, argument in zip(slots, arguments, strict=True):
            params[slot] = argument
        connection = connections[using]
        with repeated_query_cursor(connection) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [self._job(row, converters, fields, using, connection) for row in rows]

    def _compile(self, using, count, with_output, limit):
        placeholders = [f"\x00argument {n}\x00" for n in range(count)]
        fields = result_fields(with_output)
        relations = {
            f"{side}_side": FilteredRelation("results", condition=Q(results__build_type=side))
            for side in SIDES
        }
        side_columns = [f"{side}_side__{name}" for side in SIDES for name in fields]
        queryset = self.build(*placeholders).annotate(**relations)
        queryset = queryset.values_list(*JOB_FIELDS, *side_columns)
        if limit is not None:
            queryset = queryset[:limit]
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = [params.index(placeholder) for placeholder in placeholders]
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return sql, tuple(params), slots, tuple(converters.items()), fields

    @staticmethod
    def _job(row, converters, fields, db, connection):
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        job = Job.from_db(db, JOB_FIELDS, row[: len(JOB_FIELDS)])
        results = []
        width = len(fields)
        for index in range(len(SIDES)):
            start = len(JOB_FIELDS) + index * width
            values = row[start : start + width]
            if values[0] is None:  # the side's primary key: no such result
                continue
            result = BuildResult.from_db(db, fields, values)
            result._state.fields_cache["job"] = job
            results.append(result)
        attach_results(job, results)
        return job


def attach_results(job, results):
    """Store results as prefetch_related("results") would, so results.all() is no query."""
    cached = job.results.all()
    cached._result_cache = results
    cached._prefetch_done = True
    job._prefetched_objects_cache = {"results": cached}


_readers = {}


def model_reader(model, attnames, connection):
    """A function turning a row of `attnames` columns (as the database returns them) into a
    `model` instance, with the conversions the ORM would apply (timestamps, JSON, booleans).
    Built once per database vendor, model and columns."""
    key = (connection.vendor, model, tuple(attnames))
    reader = _readers.get(key)
    if reader is None:
        fields = {field.attname: field for field in model._meta.concrete_fields}
        converters = []
        for position, name in enumerate(attnames):
            column = fields[name].get_col(model._meta.db_table)
            functions = [
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            ]
            if functions:
                converters.append((position, functions, column))
        # Model.from_db takes the values in the model's field order.
        ordered = tuple(name for name in fields if name in attnames)
        positions = [attnames.index(name) for name in ordered]

        def reader(values, db, connection):
            values = list(values)
            for position, functions, column in converters:
                value = values[position]
                for convert in functions:
                    value = convert(value, column, connection)
                values[position] = value
            return model.from_db(db, ordered, [values[p] for p in positions])

        _readers[key] = reader
    return reader
