"""seed_mock_data: the original's five mock races, idempotent; random races with --jobs."""

import pytest
from django.core.management import CommandError, call_command

from jobs.demo.mock_data import MOCK_RACES, REPOSITORIES, seed_random_races
from jobs.models import BuildResult, Job, judge_results

ORIGINAL = {
    "spring-projects/spring-petclinic": (45, 78),
    "apache/commons-lang": (32, 55),
    "google/guava": (89, 142),
    "square/okhttp": (41, 63),
    "junit-team/junit5": (67, 98),
}


def parse_timing(timing):
    return [tuple(int(x) for x in line.split()) for line in timing.splitlines()]


def check_replayable(result):
    output = getattr(result, "full_output", result.output)
    timing = parse_timing(getattr(result, "full_output_timing", result.output_timing))
    offsets = [offset for offset, _ in timing]
    elapsed = [ms for _, ms in timing]
    assert offsets[0] == 0 and offsets == sorted(set(offsets))
    assert offsets[-1] < len(output)
    assert elapsed == sorted(elapsed) and elapsed[-1] == result.duration_ms
    assert "🔔 BUILD COMPLETE 🔔" in output


@pytest.mark.django_db
def test_the_original_five_mock_races(capsys):
    call_command("seed_mock_data")
    assert "5 added" in capsys.readouterr().out
    jobs = Job.objects.prefetch_related("results").order_by("id")
    assert [job.id for job in jobs] == [f"mock-job-{n}" for n in range(1, 6)]
    for job in jobs:
        elide_s, standard_s = ORIGINAL[job.repository_name]
        assert job.repository_url == f"https://github.com/{job.repository_name}"
        assert job.status == "completed" and job.is_mock
        assert job.created_at < job.started_at < job.completed_at
        assert (job.elide_result.duration, job.standard_result.duration) == (elide_s, standard_s)
        assert job.elide_result.duration_ms == elide_s * 1000
        for result in job.results.all():
            assert result.status == "success" and result.bell_rung and result.exit_code == 0
            check_replayable(result)
        assert job.winner == "elide"
        assert job.speedup == pytest.approx(standard_s / elide_s)


@pytest.mark.django_db
def test_seeding_twice_does_not_duplicate(capsys):
    call_command("seed_mock_data")
    call_command("seed_mock_data")
    assert "0 added, 5 already present" in capsys.readouterr().out
    assert Job.objects.count() == len(MOCK_RACES)
    assert BuildResult.objects.count() == 2 * len(MOCK_RACES)


@pytest.mark.django_db
def test_random_races_are_varied_realistic_and_reproducible(capsys):
    call_command("seed_mock_data", "--jobs", "300", "--seed", "7", "--batch-size", "70")
    assert "Random races: 300 added" in capsys.readouterr().out
    random_jobs = Job.objects.exclude(pk__startswith="mock-job-").prefetch_related("results")
    assert random_jobs.count() == 300
    all_repositories = {name for names in REPOSITORIES.values() for name in names}
    seen = set()
    winners = {"elide": 0, "standard": 0, "tie": 0, None: 0}
    failures = 0
    for job in random_jobs:
        assert job.status == "completed" and job.is_mock
        assert job.repository_name in all_repositories
        seen.add(job.repository_name)
        elide, standard = job.elide_result, job.standard_result
        verdict = judge_results(elide, standard)
        assert (job.verdict, job.winner, job.speedup) == (
            verdict.verdict, verdict.winner, verdict.speedup,
        )  # fmt: skip
        winners[job.winner] += 1
        failures += (elide.status == "failure") + (standard.status == "failure")
        assert elide.duration == max(round(elide.duration_ms / 1000), 1)
        assert job.started_at <= standard.started_at < elide.started_at
        check_replayable(elide)
    assert len(seen) >= 10
    assert winners["elide"] > winners["standard"] > 0 and winners["tie"] > 0
    assert failures > 0

    # The same seed gives the same races: nothing new the second time.
    call_command("seed_mock_data", "--jobs", "300", "--seed", "7")
    assert "Random races: 0 added (300 already present)" in capsys.readouterr().out
    assert seed_random_races(10, seed=8) == 10
    assert Job.objects.count() == 5 + 310


@pytest.mark.django_db
def test_bad_arguments_are_refused():
    with pytest.raises(CommandError, match="--jobs"):
        call_command("seed_mock_data", "--jobs", "-1")
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("seed_mock_data", "--jobs", "5", "--batch-size", "0")
    assert not Job.objects.exists()
