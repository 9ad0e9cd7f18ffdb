"""The JSON API: the original's paths and shapes, incremental output, clear 4xx errors."""

import datetime
import json

import pytest
from django.utils import timezone

from jobs.models import BuildResult, Job
from tests.factories import make_race, make_running_race

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.ARENA_JOB_RATE_LIMIT = 0


def post_json(client, url, data, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(url, body, content_type="application/json", **extra)


def test_create_job(client):
    response = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/google/gson"})
    assert response.status_code == 201
    data = response.json()
    assert data["message"] == "Job created successfully"
    job = Job.objects.get(pk=data["jobId"])
    assert job.repository_name == "google/gson" and job.status == "queued"


def test_create_job_with_a_ref(client):
    response = post_json(
        client, "/api/jobs", {"repositoryUrl": "https://gitlab.com/a/b.git", "ref": "v1.2"}
    )
    assert response.status_code == 201
    assert Job.objects.get().ref == "v1.2"


def test_the_api_reads_a_pasted_url_as_the_form_does(client):
    body = {"repositoryUrl": "github.com/a/b/tree/release/2.x"}
    assert post_json(client, "/api/jobs", body).status_code == 201
    job = Job.objects.get()
    assert (job.repository_url, job.ref) == ("https://github.com/a/b", "release/2.x")
    refused = post_json(client, "/api/jobs", {"repositoryUrl": "github.com/a/b c"})
    assert refused.status_code == 400
    assert refused.json()["details"] == ["A repository URL cannot contain a space."]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ("{not json", 400, "not valid JSON"),
        ("[1, 2]", 400, "must be a JSON object"),
        ({"repositoryUrl": 5}, 400, "must be a string"),
        ({}, 400, "repositoryUrl is required"),
        ({"repositoryUrl": "https://github.com/a/b", "ref": 3}, 400, "ref must be a string"),
        ({"repositoryUrl": "https://github.com/a/b", "force": "yes"}, 400, "force must be"),
        ({"repositoryUrl": "https://evil.example/a/b"}, 400, "not accepted"),
        ({"repositoryUrl": "https://github.com/a/b", "ref": "--upload-pack=x"}, 400, "ref"),
        (
            {"repositoryUrl": "https://github.com/a/b", "standardCmd": ["sh"]},
            400,
            "Unknown fields: standardCmd",
        ),
    ],
)
def test_bad_create_requests_are_clear_400s_and_create_nothing(client, body, status, fragment):
    response = post_json(client, "/api/jobs", body)
    assert response.status_code == status
    data = response.json()
    assert data["error"] == "Invalid request"
    assert fragment in " ".join(data["details"])
    assert not Job.objects.exists()


def test_wrong_content_type_and_oversized_body(client):
    form = client.post("/api/jobs", {"repositoryUrl": "https://github.com/a/b"})
    assert form.status_code == 415 and "application/json" in form.json()["error"]
    huge = json.dumps({"repositoryUrl": "https://github.com/a/b", "pad": "x" * 40_000})
    response = post_json(client, "/api/jobs", huge)
    assert response.status_code == 413 and "too large" in response.json()["error"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("origin", "status"), [("https://attacker.example", 403), ("http://testserver", 201)]
)
def test_cross_site_post_is_refused(client, origin, status):
    body = {"repositoryUrl": "https://github.com/a/b"}
    assert post_json(client, "/api/jobs", body, HTTP_ORIGIN=origin).status_code == status


def test_queue_full_is_503_with_retry_after(client, settings):
    settings.ARENA_MAX_QUEUED_JOBS = 1
    post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/a/one"})
    response = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/a/two"})
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "queue is full" in response.json()["error"]


def test_finished_race_is_reused_unless_forced(client):
    finished = make_race("google/guava")
    reused = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/google/guava"})
    assert reused.status_code == 200
    assert reused.json()["jobId"] == finished.pk and reused.json()["reused"] is True
    forced = post_json(
        client, "/api/jobs", {"repositoryUrl": "https://github.com/google/guava", "force": True}
    )
    assert forced.status_code == 201 and forced.json()["jobId"] != finished.pk


def test_reuse_never_returns_a_demo_void_or_excluded_race(client):
    url = "https://github.com/google/gson"
    make_race("google/gson", is_mock=True)
    make_race("google/gson", elide_status="failure", elide_error_kind="infrastructure",
              elide_error="elide is not installed on worker build-2")  # fmt: skip
    make_race("google/gson", excluded_reason="measured on a laptop")
    make_race("google/gson", ref="v2")
    response = post_json(client, "/api/jobs", {"repositoryUrl": url})
    assert response.status_code == 201, response.json()
    fresh = Job.objects.get(pk=response.json()["jobId"])
    assert not fresh.is_mock and fresh.status == "queued"
    real = make_race("google/gson")
    assert post_json(client, "/api/jobs", {"repositoryUrl": url}).json()["jobId"] == real.pk


def test_runs_default_to_auto_and_1_warmup_and_are_validated(client):
    url = "https://github.com/acme/runs"
    created = post_json(client, "/api/jobs", {"repositoryUrl": url, "force": True})
    job = Job.objects.get(pk=created.json()["jobId"])
    assert (job.iterations, job.adaptive, job.warmups) == (10, True, 1)
    detail = client.get(f"/api/jobs/{job.pk}").json()["job"]
    assert (detail["iterations"], detail["adaptive"]) == (10, True)
    created = post_json(
        client, "/api/jobs", {"repositoryUrl": url, "force": True, "iterations": 10, "warmups": 0}
    )
    job = Job.objects.get(pk=created.json()["jobId"])
    assert (job.iterations, job.adaptive, job.warmups) == (10, False, 0)
    created = post_json(client, "/api/jobs", {"repositoryUrl": url, "force": True,
                                              "iterations": "auto"})  # fmt: skip
    assert Job.objects.get(pk=created.json()["jobId"]).adaptive
    count = Job.objects.count()
    for bad in ({"iterations": 0}, {"iterations": 11}, {"warmups": 4}, {"warmups": -1},
                {"iterations": "3"}, {"iterations": 2.5}, {"warmups": True}):  # fmt: skip
        response = post_json(client, "/api/jobs", {"repositoryUrl": url, "force": True, **bad})
        assert response.status_code == 400, bad
        assert "must be a whole number" in " ".join(response.json()["details"])
    assert Job.objects.count() == count


def test_job_detail_has_verdict_interval_void_reason_artifacts_and_error_kind(client):
    reason = "elide is not installed on worker build-2"
    void = make_race("acme/void", elide_status="failure", elide_error_kind="infrastructure",
                     elide_error=reason)  # fmt: skip
    data = client.get(f"/api/jobs/{void.pk}").json()["job"]
    assert (data["verdict"], data["voidReason"], data["speedupCi95"]) == ("void", reason, None)
    assert data["winner"] is None and data["speedup"] is None
    assert data["elideResult"]["errorKind"] == "infrastructure"
    assert data["standardResult"]["errorKind"] is None
    raced = make_race("acme/fast", elide_ms=30_000, standard_ms=60_000, iterations=3)
    BuildResult.objects.filter(job=raced, build_type="elide").update(
        artifact_files=2, artifact_bytes=4096, artifact_classes=17
    )
    data = client.get(f"/api/jobs/{raced.pk}").json()["job"]
    assert data["verdict"] == "elide" and data["voidReason"] is None
    low, high = data["speedupCi95"]
    assert low < data["speedup"] < high and low > 1
    assert data["elideResult"]["artifacts"] == {"files": 2, "bytes": 4096, "classes": 17}
    assert data["standardResult"]["artifacts"] is None


def test_rate_limit_gives_429_with_retry_after(client, settings):
    settings.ARENA_JOB_RATE_LIMIT = 3
    settings.ARENA_JOB_RATE_WINDOW = 600
    codes = [
        post_json(client, "/api/jobs", {"repositoryUrl": f"https://github.com/a/r{i}"}).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    limited = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/a/x"})
    assert 1 <= int(limited["Retry-After"]) <= 600
    assert "Too many races" in limited.json()["error"]
    assert Job.objects.count() == 3
    # Another client is not affected.
    other = post_json(
        client, "/api/jobs", {"repositoryUrl": "https://github.com/a/y"}, REMOTE_ADDR="10.9.9.9"
    )
    assert other.status_code == 201


def test_get_job_shape(client):
    job = make_race("apache/commons-lang", elide_ms=32_000, standard_ms=55_000, iterations=3)
    data = client.get(f"/api/jobs/{job.pk}").json()["job"]
    assert (data["outcome"], data["outcomeLabel"]) == ("elide_win", "Elide wins")
    assert data["operatorRace"] is False
    assert data["id"] == job.pk
    assert data["repositoryUrl"] == "https://github.com/apache/commons-lang"
    assert data["repositoryName"] == "apache/commons-lang"
    assert data["status"] == "completed"
    assert datetime.datetime.fromisoformat(data["createdAt"]).tzinfo is not None
    assert data["winner"] == "elide"
    assert data["percentFaster"] == pytest.approx((55 - 32) / 55 * 100)
    elide = data["elideResult"]
    assert elide["tool"] == "elide" and elide["status"] == "success"
    assert elide["duration"] == 32_000 and elide["exitCode"] == 0
    assert data["standardResult"]["duration"] == 55_000
    datetime.datetime.fromisoformat(elide["startTime"])


def test_unknown_job_is_404_json(client):
    for url in ("/api/jobs/missing", "/api/jobs/missing/output?build_type=elide"):
        response = client.get(url)
        assert response.status_code == 404 and response.json() == {"error": "Job not found"}
    assert client.get("/api/nothing/here").json() == {"error": "Not found"}


def test_list_jobs_newest_first_with_limit_and_status(client):
    old = make_race("a/old", created_at=timezone.now() - datetime.timedelta(days=1))
    new = make_race("a/new", created_at=timezone.now() - datetime.timedelta(hours=1))
    running = make_running_race("a/run")
    ids = [job["id"] for job in client.get("/api/jobs").json()["jobs"]]
    assert ids == [running.pk, new.pk, old.pk]
    assert len(client.get("/api/jobs?limit=1").json()["jobs"]) == 1
    assert [j["id"] for j in client.get("/api/jobs?status=running").json()["jobs"]] == [running.pk]
    assert client.get("/api/jobs?limit=abc").status_code == 400
    assert client.get("/api/jobs?limit=0").status_code == 400
    assert client.get("/api/jobs?status=bogus").status_code == 400


def test_recent_results_only_completed_with_both_results(client):
    done = make_race("a/done")
    make_running_race("a/running")
    data = client.get("/api/jobs/recent/results?limit=5").json()
    assert [job["id"] for job in data["jobs"]] == [done.pk]
    assert client.get("/api/jobs/recent/results?limit=-1").status_code == 400


def test_cancel_needs_the_cancel_token_or_staff(client, admin_user):
    created = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/acme/a"})
    token = created.json()["cancelToken"]
    job = Job.objects.get(pk=created.json()["jobId"])
    assert token not in job.cancel_token_hash and len(job.cancel_token_hash) == 64
    url = f"/api/jobs/{job.pk}/cancel"
    assert client.post(url).status_code == 403
    assert client.post(url, headers={"x-cancel-token": "wrong"}).status_code == 403
    assert post_json(client, url, {"cancelToken": token[:-1]}).status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"
    response = client.post(url, headers={"x-cancel-token": token})
    assert response.status_code == 200
    assert response.json() == {"message": "Job cancelled successfully"}
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert client.post(url, headers={"x-cancel-token": token}).status_code == 404
    assert client.get(url).status_code == 405
    # The token also works as a JSON field; staff need none.
    second = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/acme/b"})
    body = {"cancelToken": second.json()["cancelToken"]}
    assert post_json(client, f"/api/jobs/{second.json()['jobId']}/cancel", body).status_code == 200
    running = make_running_race()
    client.force_login(admin_user)
    assert client.post(f"/api/jobs/{running.pk}/cancel").status_code == 200


def test_incremental_output(client):
    job = make_running_race(output="hello \x1b[32mworld\x1b[0m\n")
    base = f"/api/jobs/{job.pk}/output"
    first = client.get(base, {"build_type": "elide"}).json()
    assert first["output"] == "hello \x1b[32mworld\x1b[0m\n"
    assert first["offset"] == 0 and first["nextOffset"] == first["length"] == 21
    assert first["complete"] is False and first["jobStatus"] == "running"
    rest = client.get(base, {"build_type": "elide", "offset": 6}).json()
    assert rest["output"] == "\x1b[32mworld\x1b[0m\n"
    beyond = client.get(base, {"build_type": "elide", "offset": 999}).json()
    assert beyond["output"] == "" and beyond["offset"] == 21
    far = client.get(base, {"build_type": "elide", "offset": 2**31 - 2})
    assert far.status_code == 200 and far.json()["output"] == ""
    # The API counts characters, whatever their size in bytes.
    wide = make_running_race("acme/wide", output="caf\u00e9 \u2713 \U0001f514\n")
    rest = client.get(f"/api/jobs/{wide.pk}/output", {"build_type": "elide", "offset": 3}).json()
    assert rest["output"] == "\u00e9 \u2713 \U0001f514\n"
    assert rest["offset"] == 3 and rest["nextOffset"] == rest["length"] == 9
    for params in (
        {"build_type": "maven"},
        {"build_type": "elide", "offset": "-1"},
        {"build_type": "elide", "offset": str(2**31)},
        {"build_type": "elide", "offset": "1.5"},
        {},
    ):
        response = client.get(base, params)
        assert response.status_code == 400 and "error" in response.json()


def test_health_and_status(client):
    from workers.models import Worker

    health = client.get("/health").json()
    assert health["status"] == "ok" and "timestamp" in health
    make_race()
    down = client.get("/api/status")
    assert down.status_code == 503
    data = down.json()
    assert data["checks"]["database"]["status"] == "healthy"
    assert data["checks"]["database"]["jobs"]["completed"] == 1
    assert len(data["checks"]["database"]["recentJobs"]) == 1
    assert data["checks"]["workers"]["status"] == "unhealthy"
    Worker.objects.create(id="w1", hostname="h", last_heartbeat=timezone.now())
    degraded = client.get("/api/status")
    assert degraded.status_code == 503 and degraded.json()["status"] == "degraded"
    toolchains = degraded.json()["checks"]["toolchains"]
    assert toolchains["status"] == "degraded" and toolchains["elideWorkers"] == []
    assert "No live worker can run an Elide side" in toolchains["message"]
    Worker.objects.create(
        id="w2", hostname="h", last_heartbeat=timezone.now(), runs_elide=True,
        toolchains={"elide": {"ok": True, "version": "Elide 1.0"}},
    )  # fmt: skip
    up = client.get("/api/status")
    assert up.status_code == 200 and up.json()["checks"]["workers"]["alive"] == 2
    assert up.json()["checks"]["toolchains"]["workers"]["w2"]["toolchains"]["elide"]["ok"]


def test_seed_endpoint_only_in_debug(client, settings):
    settings.DEBUG = False
    assert client.post("/api/dev/seed-mock-data").status_code == 404
    assert not Job.objects.exists()
    settings.DEBUG = True
    response = client.post("/api/dev/seed-mock-data")
    assert response.status_code == 201
    assert "5 added" in response.json()["details"]
    names = set(Job.objects.filter(is_mock=True).values_list("repository_name", flat=True))
    assert "spring-projects/spring-petclinic" in names and len(names) == 5


def test_methods_not_allowed_are_json(client):
    response = client.delete("/api/jobs")
    assert response.status_code == 405 and "not allowed" in response.json()["error"]
    assert client.get("/api/dev/seed-mock-data").status_code == 405


def test_api_does_not_grow_queries_with_jobs(client, django_assert_max_num_queries):
    for index in range(3):
        make_race(f"q/r{index}")
    with django_assert_max_num_queries(2):
        client.get("/api/jobs")
    for index in range(30):
        make_race(f"q/more{index}")
    with django_assert_max_num_queries(2):
        client.get("/api/jobs")
    with django_assert_max_num_queries(2):
        client.get("/api/jobs/recent/results")


def test_cache_and_scenario_are_chosen_per_race_and_reported(client):
    default = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/a/b"})
    chosen = post_json(
        client,
        "/api/jobs",
        {
            "repositoryUrl": "https://github.com/a/c",
            "cache": "cold",
            "scenario": "incremental",
            "iterations": 5,
            "warmups": 0,
        },
    )
    assert default.status_code == chosen.status_code == 201
    job = client.get(f"/api/jobs/{default.json()['jobId']}").json()["job"]
    assert (job["cache"], job["scenario"]) == ("warm", "clean")
    job = client.get(f"/api/jobs/{chosen.json()['jobId']}").json()["job"]
    assert (job["cache"], job["scenario"]) == ("cold", "incremental")
    stored = Job.objects.get(pk=job["id"])
    assert (stored.iterations, stored.warmups) == (5, 0)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"cache": "lukewarm"}, "cache must be one of: cold, warm."),
        ({"cache": ["cold"]}, "cache must be one of: cold, warm."),
        ({"scenario": "dirty"}, "scenario must be one of: clean, noop, incremental."),
        ({"scenario": 1}, "scenario must be one of: clean, noop, incremental."),
    ],
)
def test_bad_cache_or_scenario_is_a_400_that_creates_nothing(client, extra, fragment):
    response = post_json(client, "/api/jobs", {"repositoryUrl": "https://github.com/a/b", **extra})
    assert response.status_code == 400
    assert fragment in response.json()["details"]
    assert not Job.objects.exists()


def test_reuse_only_matches_a_race_of_the_same_cache_and_scenario(client):
    finished = make_race("google/guava", cache="cold", scenario="noop")
    url = "https://github.com/google/guava"
    same = post_json(
        client, "/api/jobs", {"repositoryUrl": url, "cache": "cold", "scenario": "noop"}
    )
    assert same.status_code == 200 and same.json()["jobId"] == finished.pk
    other = post_json(client, "/api/jobs", {"repositoryUrl": url, "cache": "cold"})
    assert other.status_code == 201


def test_each_side_reports_its_phases_and_jdk(client):
    job = make_race("apache/commons-io")
    job.results.filter(build_type="elide").update(
        jdk="17 (/usr/lib/jvm/java-17-openjdk-amd64)",
        phases={"clone_ms": 120, "prepare_ms": 15_000, "runs_ms": [30_000], "downloads": [0]},
    )
    data = client.get(f"/api/jobs/{job.pk}").json()["job"]
    assert data["elideResult"]["phases"] == {
        "clone_ms": 120,
        "prepare_ms": 15_000,
        "runs_ms": [30_000],
        "downloads": [0],
    }
    assert data["elideResult"]["jdk"] == "17 (/usr/lib/jvm/java-17-openjdk-amd64)"
    # Races recorded before phases existed answer with the same shape.
    assert data["standardResult"]["phases"] == {
        "clone_ms": None,
        "prepare_ms": None,
        "runs_ms": [],
        "downloads": [],
    }
    assert data["standardResult"]["jdk"] is None
