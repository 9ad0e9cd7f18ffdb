"""The database stalls: hold its write lock (and on PostgreSQL cut every connection) a while.

Used by scripts/chaos_drill.py --lock SECONDS. SQLite: another connection holds BEGIN
IMMEDIATE, so every writer waits for the lock (and fails once its busy timeout runs out).
PostgreSQL: another session holds LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE (readers and
writers of `jobs` wait) and terminates every other connection to the database once, as a
restart of the server would, without stopping the server that others share.

Meanwhile the JSON API is asked for the job list, the service status and a new race from
threads of this process; each answer must be a success or a JSON error, never a traceback.
"""

import json
import threading
import time

PROBES = (
    ("GET", "/api/jobs?limit=5"),
    ("GET", "/api/status"),
    ("POST", "/api/jobs"),
)


def _probe(method, path, repository, answers):
    from django.db import connection
    from django.test import Client

    client = Client(raise_request_exception=False)
    started = time.monotonic()
    try:
        if method == "POST":
            body = json.dumps({"repositoryUrl": repository, "force": True})
            response = client.post(path, body, content_type="application/json")
        else:
            response = client.get(path)
        status, body = response.status_code, response.content[:200].decode(errors="replace")
    except Exception as exc:  # a probe must report, whatever happened
        status, body = "exception", repr(exc)[:200]
    finally:
        connection.close()
    answers.append(
        {
            "request": f"{method} {path}",
            "status": status,
            "seconds": round(time.monotonic() - started, 2),
            "body": body,
        }
    )


def _sqlite_lock(path):
    import sqlite3

    raw = sqlite3.connect(path, timeout=30, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    return lambda: (raw.execute("ROLLBACK"), raw.close())


def _postgres_lock(settings_dict):
    import psycopg

    raw = psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        dbname=settings_dict["NAME"],
    )
    raw.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
    with psycopg.connect(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None,
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as killer:
        killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s",
            [raw.info.backend_pid],
        )
    return lambda: (raw.rollback(), raw.close())


def hold_write_lock(seconds, repository):
    """Stall the database `seconds`, probe the API meanwhile; returns a report."""
    from django.db import connection

    settings_dict = connection.settings_dict
    connection.close()
    if connection.vendor == "sqlite":
        release = _sqlite_lock(str(settings_dict["NAME"]))
    else:
        release = _postgres_lock(settings_dict)
    answers = []
    threads = [
        threading.Thread(target=_probe, args=(method, path, repository, answers))
        for method, path in PROBES
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    release()
    released_at = time.monotonic()
    for thread in threads:
        thread.join(120)
    problems = []
    created = []
    for answer in answers:
        status = answer["status"]
        if status == "exception" or (isinstance(status, int) and status >= 500 and status != 503):
            problems.append(f"{answer['request']} during the lock: {status} {answer['body']}")
        if answer["request"].startswith("POST") and status == 201:
            created.append(json.loads(answer["body"])["jobId"])
    missing = [t.name for t in threads if t.is_alive()]
    if missing:
        problems.append(f"{len(missing)} API request(s) still hanging after the lock")
    return {
        "engine": connection.vendor,
        "held_seconds": seconds,
        "answers": answers,
        "created_jobs": created,
        "recovered_after": round(time.monotonic() - released_at, 2),
        "problems": problems,
    }
