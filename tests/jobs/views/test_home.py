"""The home page and its race form (jobs/views/home.py): suggestions, latest races, submission,
form errors, reuse of a finished race, the rate limit."""

import re

import pytest
from django.urls import reverse

from jobs.models import Job
from tests.factories import make_race

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_limits")]


def test_home_offers_two_small_two_medium_one_large_suggestion(client):
    content = client.get("/").content.decode()
    sizes = re.findall(r'class="suggestion size-(\w+)"', content)
    assert sorted(sizes) == ["large", "medium", "medium", "small", "small"]
    # Without JS a suggestion link reloads the form with the URL filled in.
    link = re.search(r'href="(/\?repository_url=[^"]+)"', content).group(1)
    filled = client.get(link.replace("&amp;", "&")).content.decode()
    assert 'value="https://github.com/' in filled


def test_home_lists_latest_races(client):
    make_race("octo/first")
    make_race("octo/second")
    content = client.get("/").content.decode()
    assert "octo/first" in content and "octo/second" in content


def test_submitting_creates_a_job_and_redirects_to_its_race(client):
    response = client.post("/", {"repository_url": "https://github.com/square/okio"})
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("race_detail", args=[job.pk])
    assert job.repository_name == "square/okio" and job.status == "queued"
    assert job.standard_cmd is None and job.elide_cmd is None


@pytest.mark.parametrize(
    ("pasted", "ref"),
    [
        ("github.com/square/okio", ""),
        ("https://github.com/square/okio/tree/parent-3.9.0", "parent-3.9.0"),
        ("https://github.com/square/okio.git", ""),
        ("https://github.com/square/okio/", ""),
    ],
)
def test_the_form_understands_what_people_paste(client, pasted, ref):
    response = client.post("/", {"repository_url": pasted})
    job = Job.objects.get()
    assert response.status_code == 302
    assert (job.repository_url, job.ref) == ("https://github.com/square/okio", ref)


def test_a_form_error_is_one_readable_sentence(client):
    response = client.post("/", {"repository_url": "not a url"})
    assert response.status_code == 400
    errors = re.search(r'id="repository-url-errors"[^>]*>(.*?)</div>', response.content.decode())
    assert errors.group(1).startswith("<p>A repository URL cannot contain a space.</p>")
    assert not Job.objects.exists()


def test_the_form_never_accepts_operator_fields(client):
    client.post(
        "/",
        {
            "repository_url": "https://github.com/square/okio",
            "standard_cmd": '["sh", "-c", "id"]',
            "mode": "parallel",
            "iterations": "5",
        },
    )
    job = Job.objects.get()
    assert job.standard_cmd is None and job.mode == "sequential"
    assert (job.iterations, job.warmups) == (5, 1)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ({"iterations": "0"}, "Measured runs must be Auto or a whole number from 1 to 10."),
        ({"iterations": "11"}, "Measured runs must be Auto or a whole number from 1 to 10."),
        ({"warmups": "4"}, "less than or equal to 3"),
        ({"warmups": "-1"}, "greater than or equal to 0"),
        ({"iterations": "three"}, "Measured runs must be Auto or a whole number from 1 to 10."),
    ],
)
def test_bad_runs_or_warmups_are_a_form_error_and_create_nothing(client, runs, message):
    response = client.post("/", {"repository_url": "https://github.com/square/okio", **runs})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_the_form_defaults_to_auto_runs_and_1_warmup_and_estimates_a_known_repository(client):
    page = client.get("/").content.decode()
    assert '<option value="auto" selected>Auto</option>' in page
    assert 'name="warmups" id="id_warmups" value="1"' in page
    assert 'name="force"' in page and "Force a fresh race" in page
    make_race("square/okio", elide_ms=20_000, standard_ms=40_000)
    estimate = client.get(
        reverse("validate_repository"),
        {"repository_url": "https://github.com/square/okio", "iterations": "2", "warmups": "0"},
    ).content.decode()
    assert "2 runs and 0 warm-ups a side should take about 2 min 0 s" in estimate
    unknown = client.get(
        reverse("validate_repository"), {"repository_url": "https://github.com/square/other"}
    ).content.decode()
    assert "raced before" not in unknown
    prefilled = client.get("/", {"repository_url": "https://github.com/square/okio"})
    assert "4 runs" not in prefilled.content.decode()
    assert (
        "at least 3 runs and 1 warm-up a side should take at least 4 min 0 s"
        in prefilled.content.decode()
    )
    response = client.post("/", {"repository_url": "https://github.com/square/okio",
                                 "force": "on"})  # fmt: skip
    job = Job.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert (job.iterations, job.adaptive, job.warmups) == (10, True, 1)


def test_force_a_fresh_race_on_the_form_skips_reuse(client):
    finished = make_race("square/okio")
    response = client.post("/", {"repository_url": "https://github.com/square/okio", "force": "on"})
    fresh = Job.objects.exclude(pk=finished.pk).get()
    assert response["Location"] == reverse("race_detail", args=[fresh.pk])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter a repository URL."),
        ("http://github.com/a/b", "Only https://"),
        ("https://evil.example/a/b", "are not accepted"),
        ("https://github.com/a/b;rm -rf", "cannot contain a space"),
    ],
)
def test_invalid_submissions_show_a_form_error_and_create_nothing(client, url, message):
    response = client.post("/", {"repository_url": url})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Job.objects.exists()


def test_inline_validation_endpoint(client):
    bad = client.get(reverse("validate_repository"), {"repository_url": "ftp://x"})
    assert "Only https://" in bad.content.decode()
    good = client.get(reverse("validate_repository"), {"repository_url": "https://github.com/a/b"})
    assert "<p>" not in good.content.decode()


def test_queue_full_is_a_form_error(client, settings):
    settings.ARENA_MAX_QUEUED_JOBS = 1
    client.post("/", {"repository_url": "https://github.com/a/one"})
    response = client.post("/", {"repository_url": "https://github.com/a/two"})
    assert response.status_code == 503
    assert "queue is full" in response.content.decode()
    assert Job.objects.count() == 1


def test_a_finished_race_is_shown_instead_of_building_again(client):
    finished = make_race("spring-projects/spring-petclinic")
    response = client.post(
        "/", {"repository_url": "https://github.com/spring-projects/spring-petclinic.git"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("race_detail", args=[finished.pk]) + "?reused=1"
    page = client.get(response["Location"]).content.decode()
    assert "Race again" in page and "already raced" in page
    assert Job.objects.count() == 1
    # "Race again" forces a fresh build.
    again = client.post(
        "/",
        {"repository_url": finished.repository_url, "force": "on"},
    )
    assert Job.objects.count() == 2
    fresh = Job.objects.exclude(pk=finished.pk).get()
    assert again["Location"] == reverse("race_detail", args=[fresh.pk])


def test_rate_limit_on_the_form(client, settings):
    settings.ARENA_JOB_RATE_LIMIT = 2
    for index in range(2):
        assert (
            client.post("/", {"repository_url": f"https://github.com/a/r{index}"}).status_code
            == 302
        )
    response = client.post("/", {"repository_url": "https://github.com/a/r9"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many races" in response.content.decode()
    assert Job.objects.count() == 2
