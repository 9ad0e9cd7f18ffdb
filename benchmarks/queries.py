"""The hot queries the database benchmark times, and their query plans.

Each is timed through the function the pages and the API call (jobs.submissions.services,
jobs.leaderboard.ranking, jobs.leaderboard.per_repository).
"""

import datetime
import itertools
import random

from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.leaderboard import figures as leaderboard_figures
from jobs.leaderboard import per_repository as statistics
from jobs.leaderboard import ranking as leaderboard
from jobs.models import Job, new_job_id
from jobs.submissions.services import create_job, get_job, get_recent_results

_counter = itertools.count()
_inserted = []
_captured = {}


def _insert_job():
    job = create_job(f"https://github.com/bench-{next(_counter) % 50}/repo-{next(_counter)}")
    _inserted.append(job.pk)


_raw_insert = {}


def _insert_row():
    """The seed's "insert", the floor `create_job` is held against: one INSERT statement of a
    prepared row through a cursor, committed on its own (autocommit), with no validation, no
    queue check and no model save (whose summary bookkeeping adds statements)."""
    if not _raw_insert:
        template = Job(repository_url="https://github.com/bench/raw", repository_name="bench/raw")
        fields = Job._meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        placeholders = ", ".join("%s" for _ in fields)
        _raw_insert["sql"] = f"INSERT INTO jobs ({columns}) VALUES ({placeholders})"  # noqa: S608
        _raw_insert["values"] = [
            field.get_db_prep_save(field.pre_save(template, True), connection) for field in fields
        ]
        _raw_insert["id_at"] = [field.attname for field in fields].index("id")
    values = list(_raw_insert["values"])
    values[_raw_insert["id_at"]] = job_id = new_job_id()
    with connection.cursor() as cursor:
        cursor.execute(_raw_insert["sql"], values)
    _inserted.append(job_id)


def _select_row(job_id):
    """The seed's "select by id", the floor `get_job` is held against: the job's row by its
    primary key through a cursor, no model instance."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM jobs WHERE id = %s", [job_id])
        return cursor.fetchone()


def _sample_ids(rng):
    ids = list(Job.objects.order_by().values_list("pk", flat=True))
    return rng.sample(ids, min(len(ids), 2000))


# Every race, demo ones included: the seed's races are demo data, and without them the board
# would be timed over no races at all.
EVERY_RACE = {"include_demo": True}


def leaderboard_functions():
    """(name, callable) pairs: what the leaderboard page runs, over every race; the figures
    also narrowed to one repository and to the last 30 days (filters the summary rows
    answer too)."""
    counts = leaderboard_figures.totals(EVERY_RACE)
    ranking = leaderboard.Ranking(
        EVERY_RACE, total=counts["races"], ranked_count=counts["with_speedup"]
    )

    def page(number, size=25):
        return leaderboard.attach_side_times(ranking[(number - 1) * size : number * size])

    def totals_and_chart(filters=EVERY_RACE):
        return statistics.chart_geometry(leaderboard_figures.totals(filters)["histogram"])

    one_repository = {**EVERY_RACE, "q": "spring-petclinic"}
    last_30_days = {**EVERY_RACE, "since": datetime.date.today() - datetime.timedelta(days=30)}
    return [
        ("leaderboard page 1", lambda: page(1)),
        ("leaderboard page 100", lambda: page(100)),
        ("leaderboard totals+chart", totals_and_chart),
        ("leaderboard per repo", lambda: statistics.repository_statistics(EVERY_RACE)),
        ("totals+chart, one repo", lambda: totals_and_chart(one_repository)),
        ("per repo, last 30 days", lambda: statistics.repository_statistics(last_30_days)),
        ("totals+chart, 30 days", lambda: totals_and_chart(last_30_days)),
    ]


def _capture(name, function):
    def run():
        if name in _captured:
            return function()
        with CaptureQueriesContext(connection) as context:
            result = function()
        _captured[name] = [q["sql"] for q in context.captured_queries]
        return result

    return run


def workload(samples):
    rng = random.Random(7)  # noqa: S311 (benchmark sampling)
    ids = _sample_ids(rng)
    pick = lambda: rng.choice(ids)  # noqa: E731
    yield "insert (create_job)", _capture("insert", _insert_job), samples
    yield "insert (one INSERT)", _insert_row, samples
    yield "select by id (get_job)", _capture("select", lambda: get_job(pick())), samples
    yield "select by id (pk only)", lambda: _select_row(pick()), samples

    def recent():
        jobs = get_recent_results(20)
        return [(job.elide_result, job.standard_result) for job in jobs]

    yield "recent 20 (both results)", _capture("recent", recent), max(samples // 3, 20)
    for name, function in leaderboard_functions():
        yield name, _capture(name, function), max(samples // 10, 10)


def cleanup():
    """Delete the races the inserts made (none left queued for the next sample): one plain
    DELETE of queued rows that nothing else refers to, so that the next sample does not pay
    for a model delete's bookkeeping (a checkpoint of its writes)."""
    if _inserted:
        placeholders = ", ".join("%s" for _ in _inserted)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM jobs WHERE id IN ({placeholders})", _inserted)  # noqa: S608
        _inserted.clear()


def explain(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN " + sql)
        return [row[0] for row in cursor.fetchall()]


# The summary tables are read whole by design: a few thousand rows whatever the races.
SUMMARY_TABLES = ("leaderboard_summary", "leaderboard_speedup_steps")


def full_scans(plan):
    """Plan lines that read a whole table (not through an index), summary tables aside."""
    if connection.vendor == "sqlite":
        # SEARCH uses an index to find rows; SCAN walks a whole table or index.
        lines = [line for line in plan if line.startswith("SCAN ") and "CONSTANT ROW" not in line]
    else:
        lines = [line.strip() for line in plan if "Seq Scan" in line]
    return [line for line in lines if not any(table in line for table in SUMMARY_TABLES)]


def print_plans(*, verbose=False):
    """Print each hot query's plan; return the names of queries with a full table scan."""
    flagged = []
    for name, statements in _captured.items():
        for sql in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan = explain(sql)
            scans = full_scans(plan)
            if scans:
                flagged.append(name)
            if verbose or scans:
                print(f"-- {name}: {sql[:160]}...")
                for line in plan:
                    print(f"     {line}")
    _captured.clear()
    return sorted(set(flagged))
