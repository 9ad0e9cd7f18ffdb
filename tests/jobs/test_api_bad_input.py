"""Bad-input drill for the JSON API and the pages: hostile bodies, query strings and paths.

Whatever arrives, the answer is a 2xx/3xx or a 4xx (503 for a full queue) with a message,
never a 500, and a refused request writes nothing. State-changing pages need a CSRF token;
cross-site API POSTs are refused by Origin.
"""

import json
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jobs.models import Job, RateLimitCounter

pytestmark = pytest.mark.django_db

DRILL = settings(max_examples=40)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
repository_urls = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "https://github.com/spring-projects/spring-petclinic",
            "https://github.com/a/b.git",
            "http://github.com/a/b",
            "https://github.com/a/b;rm -rf /",
            "https://evil.example/a/b",
            "file:///etc",
            "/etc/passwd",
            "https://github.com/a/b/../../c",
            "git@github.com:a/b.git",
        ]
    ),
)
create_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"repositoryUrl": repository_urls},
        optional={
            "ref": st.one_of(st.text(max_size=30), json_scalars),
            "force": st.one_of(st.booleans(), json_scalars),
            "standardCmd": st.just(["sh", "-c", "id"]),
            "elide_cmd": st.just(["sh"]),
            "iterations": st.integers(),
        },
    ),
)


@pytest.fixture
def open_queue(settings):
    settings.ARENA_JOB_RATE_LIMIT = 0
    settings.ARENA_MAX_QUEUED_JOBS = 10_000
    settings.ARENA_MAX_JOBS_PER_CLIENT = 0
    return settings


def assert_clean_answer(response):
    """A proper status and, for errors, a JSON body with a message."""
    assert response.status_code < 500 or response.status_code == 503, response.content[:300]
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        assert json.loads(response.content)["error"]
    return response


@DRILL
@given(body=create_bodies)
@pytest.mark.usefixtures("open_queue")
def test_create_job_bodies(client, body):
    before = Job.objects.count()
    response = assert_clean_answer(
        client.post(reverse("api_jobs"), json.dumps(body), content_type="application/json")
    )
    assert response["Content-Type"] == "application/json"
    if response.status_code == 201:
        assert Job.objects.count() == before + 1
        job = Job.objects.get(pk=json.loads(response.content)["jobId"])
        assert job.repository_url.startswith(("https://github.com/", "https://gitlab.com/"))
        assert job.standard_cmd is None and job.elide_cmd is None
        # No runs given: adaptive ("auto"), at most ARENA_MAX_RUNS (10) a side.
        assert job.iterations == body.get("iterations", 10) and 1 <= job.iterations <= 10
        assert job.adaptive == ("iterations" not in body)
    else:
        assert Job.objects.count() == before


@DRILL
@given(
    raw=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
    ),
)
@pytest.mark.usefixtures("open_queue")
def test_create_job_raw_bytes(client, raw, content_type):
    response = assert_clean_answer(client.post(reverse("api_jobs"), raw, content_type=content_type))
    assert response.status_code in (200, 201, 400, 413, 415)
    if response.status_code >= 400:
        assert Job.objects.count() == 0


@DRILL
@given(
    limit=st.one_of(st.text(max_size=12), st.integers().map(str)),
    status=st.one_of(st.text(max_size=12), st.sampled_from(["queued", "completed", "RUNNING"])),
)
def test_list_query_parameters(client, limit, status):
    response = assert_clean_answer(
        client.get(reverse("api_jobs"), {"limit": limit, "status": status})
    )
    assert response.status_code in (200, 400)
    response = assert_clean_answer(client.get(reverse("api_recent_results"), {"limit": limit}))
    assert response.status_code in (200, 400)


@DRILL
@given(
    job_id=st.text(min_size=1, max_size=80),
    build_type=st.text(max_size=10),
    offset=st.one_of(
        st.text(max_size=10), st.integers(min_value=-(2**70), max_value=2**70).map(str)
    ),
)
@example(job_id="\x00", build_type="standard", offset="0")  # PostgreSQL refuses NUL in text
def test_job_paths_and_output_parameters(client, job_id, build_type, offset):
    path_id = quote(job_id, safe="")
    for path in (f"/api/jobs/{path_id}", f"/api/jobs/{path_id}/output", f"/jobs/{path_id}/"):
        response = assert_clean_answer(
            client.get(path, {"build_type": build_type, "offset": offset})
        )
        assert response.status_code in (200, 301, 400, 404)


@DRILL
@given(job_id=st.text(min_size=1, max_size=80))
@example(job_id="a\x00b")
def test_cancel_of_unknown_jobs_changes_nothing(client, job_id):
    queued = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    response = assert_clean_answer(client.post(f"/api/jobs/{quote(job_id, safe='')}/cancel"))
    if job_id != queued.pk:
        assert response.status_code == 404
        assert Job.objects.get(pk=queued.pk).status == "queued"


@pytest.mark.usefixtures("open_queue")
def test_oversized_bodies_are_refused_before_reading(client):
    padding = "x" * (3 * 1024 * 1024)
    huge = json.dumps({"repositoryUrl": "https://github.com/a/b", "ref": padding})
    response = assert_clean_answer(
        client.post(reverse("api_jobs"), huge, content_type="application/json")
    )
    assert response.status_code == 413
    medium = json.dumps({"repositoryUrl": "https://github.com/a/b", "ref": "x" * 20_000})
    response = client.post(reverse("api_jobs"), medium, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in json.loads(response.content)["error"]
    assert Job.objects.count() == 0


def test_oversized_form_posts_are_refused(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    response = client.post(reverse("home"), {"repository_url": "x" * 100_000})
    assert response.status_code == 400
    assert Job.objects.count() == 0


@pytest.mark.usefixtures("open_queue")
def test_cross_site_api_posts_are_refused(client):
    body = json.dumps({"repositoryUrl": "https://github.com/a/b"})
    response = client.post(
        reverse("api_jobs"), body, content_type="application/json",
        headers={"origin": "https://evil.example"},
    )  # fmt: skip
    assert response.status_code == 403
    job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    response = client.post(
        reverse("api_job_cancel", args=[job.pk]), headers={"origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert Job.objects.get().status == "queued"


@pytest.mark.usefixtures("open_queue")
def test_page_forms_need_a_csrf_token():
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        reverse("home"), {"repository_url": "https://github.com/a/b", "force": "on"}
    )
    assert response.status_code == 403
    job = Job.objects.create(repository_url="https://github.com/a/b", repository_name="a/b")
    response = browser.post(reverse("race_cancel", args=[job.pk]))
    assert response.status_code == 403
    assert Job.objects.get().status == "queued"
    assert RateLimitCounter.objects.count() == 0


@pytest.mark.usefixtures("open_queue")
def test_page_forms_work_with_the_token():
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(reverse("home"))
    token = page.cookies["csrftoken"].value
    response = browser.post(
        reverse("home"),
        {"repository_url": "https://github.com/a/b", "csrfmiddlewaretoken": token},
    )
    assert response.status_code in (200, 302)
    assert Job.objects.count() == 1


@DRILL
@given(url=repository_urls, ref=st.text(max_size=30), extra=st.text(max_size=10))
@pytest.mark.usefixtures("open_queue")
def test_home_form_never_fails(client, url, ref, extra):
    before = Job.objects.count()
    response = assert_clean_answer(
        client.post(
            reverse("home"),
            {"repository_url": url, "ref": ref, "force": "on", "standard_cmd": extra},
        )
    )
    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:
        assert Job.objects.count() == before
    assert not Job.objects.exclude(standard_cmd=None).exists()
