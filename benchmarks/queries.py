"""The hot queries the database benchmark times, and their query plans.

Each is timed through the function the pages and the API call (jobs.services,
jobs.leaderboard, jobs.statistics).
"""

import itertools
import random

from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs import leaderboard, statistics
from jobs.models import Job
from jobs.services import create_job, get_job, get_recent_results

_counter = itertools.count()
_inserted = []
_captured = {}


def _insert_job():
    job = create_job(f"https://github.com/bench-{next(_counter) % 50}/repo-{next(_counter)}")
    _inserted.append(job.pk)


def _insert_row():
    """The seed's "insert": one row, one durable commit, no validation or queue check."""
    job = Job.objects.create(
        repository_url="https://github.com/bench/raw", repository_name="bench/raw"
    )
    _inserted.append(job.pk)


def _sample_ids(rng):
    ids = list(Job.objects.order_by().values_list("pk", flat=True))
    return rng.sample(ids, min(len(ids), 2000))


def leaderboard_functions():
    """(name, callable) pairs: what the leaderboard page runs."""
    counts = leaderboard.totals()
    ranking = leaderboard.Ranking(None, total=counts["races"], ranked_count=counts["with_speedup"])

    def page(number, size=25):
        return leaderboard.attach_side_times(ranking[(number - 1) * size : number * size])

    return [
        ("leaderboard page 1", lambda: page(1)),
        ("leaderboard page 100", lambda: page(100)),
        ("leaderboard totals", leaderboard.totals),
        ("leaderboard per repo", statistics.repository_statistics),
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
    yield "select by id (pk only)", lambda: Job.objects.filter(pk=pick()).first(), samples

    def recent():
        jobs = get_recent_results(20)
        return [(job.elide_result, job.standard_result) for job in jobs]

    yield "recent 20 (both results)", _capture("recent", recent), max(samples // 3, 20)
    for name, function in leaderboard_functions():
        yield name, _capture(name, function), max(samples // 10, 10)


def cleanup():
    Job.objects.filter(pk__in=_inserted).delete()
    _inserted.clear()


def explain(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[-1] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN " + sql)
        return [row[0] for row in cursor.fetchall()]


def full_scans(plan):
    """Plan lines that read a whole table (not through an index)."""
    if connection.vendor == "sqlite":
        # SEARCH uses an index to find rows; SCAN walks a whole table or index.
        return [line for line in plan if line.startswith("SCAN ") and "CONSTANT ROW" not in line]
    return [line.strip() for line in plan if "Seq Scan" in line]


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
