"""A stalled database: the web answers 503 with Retry-After (JSON on the API), then recovers.

The stall is real: another connection holds SQLite's write lock (with a short busy timeout
for this process) or PostgreSQL's ACCESS EXCLUSIVE lock on `jobs` (with a short
lock_timeout for this session).
"""

import json
import sqlite3

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)

BODY = json.dumps({"repositoryUrl": "https://github.com/a/b", "force": True})


@pytest.fixture
def open_queue(settings):
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_MAX_QUEUED_JOBS = 0


@pytest.fixture
def stalled_database():
    """Hold the database's lock from another connection until the test releases it."""
    if connection.vendor == "sqlite":
        original = dict(connection.settings_dict["OPTIONS"])
        connection.close()
        connection.settings_dict["OPTIONS"] = {
            **original,
            "timeout": 0.2,
            "init_command": original["init_command"].replace(
                f"busy_timeout={original['timeout'] * 1000:g}", "busy_timeout=200"
            ),
        }
        holder = sqlite3.connect(str(connection.settings_dict["NAME"]), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        release = holder.rollback
    else:
        db = connection.settings_dict
        holder = psycopg.connect(
            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
            dbname=db["NAME"], password=db["PASSWORD"] or None,
        )  # fmt: skip
        holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        release = holder.rollback
    yield release
    release()
    holder.close()
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["OPTIONS"] = original


@pytest.mark.usefixtures("open_queue")
def test_api_answers_503_json_while_the_database_is_locked_then_recovers(client, stalled_database):
    response = client.post(reverse("api_jobs"), BODY, content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again" in json.loads(response.content)["error"]

    stalled_database()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    response = client.post(reverse("api_jobs"), BODY, content_type="application/json")
    assert response.status_code == 201
    assert Job.objects.count() == 1


@pytest.mark.usefixtures("open_queue")
def test_pages_answer_503_while_writes_are_refused(client, stalled_database):
    response = client.post(reverse("home"), {"repository_url": "https://github.com/a/b"})
    assert response.status_code == 503
    assert b"Try again shortly" in response.content
    stalled_database()
    assert Job.objects.count() == 0


def test_bugs_are_not_disguised_as_unavailability(client, settings):
    from buildarena.middleware import DatabaseErrorMiddleware

    middleware = DatabaseErrorMiddleware(lambda request: None)
    request = client.get("/").wsgi_request
    assert middleware.process_exception(request, ValueError("bug")) is None


@pytest.mark.parametrize("path", ["/api/jobs/%00", "/api/jobs/a%00b/output", "/jobs/%00/"])
def test_a_nul_character_in_a_job_id_is_a_client_error(client, path):
    """PostgreSQL refuses NUL in text (DataError); SQLite simply finds no such job."""
    response = client.get(path, {"build_type": "standard"})
    assert response.status_code in (400, 404)
    if path.startswith("/api/"):
        assert json.loads(response.content)["error"]
