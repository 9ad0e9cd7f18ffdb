"""`manage.py race`: a foreground race end to end, its output and its exit codes."""

import pytest

from jobs.models import BuildResult, Job, JobStatus
from tests.repos import head_sha, make_git_repo, maven_project_files
from tests.support import require_tool


@pytest.fixture
def race_env(tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    return {
        "ARENA_WORKSPACE_ROOT": str(tmp_path / "workspaces"),
        "ARENA_MAVEN_ARGS": "-o -Dmaven.repo.local=/usr/share/maven-repo",
        "ARENA_ELIDE": "elide-not-installed",
    }


@pytest.fixture
def repo(tmp_path):
    return make_git_repo(tmp_path / "hello-maven", maven_project_files())


@pytest.mark.django_db(transaction=True)
def test_race_with_custom_commands_records_and_prints_a_table(manage, race_env, repo):
    done = manage(
        "race", str(repo), "--iterations", "3", "--mode", "sequential",
        "--standard-cmd", "sh -c 'echo compiling; sleep 0.4; echo BUILD SUCCESS'",
        "--elide-cmd", "sh -c 'echo \"quoted arg\"; sleep 0.2; echo BUILD SUCCESS'",
        env=race_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    job = Job.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert job.worker_id.startswith("race@")
    assert job.commit_sha == head_sha(repo)
    assert job.iterations == 3 and job.winner == "elide"
    assert job.standard_cmd == ["sh", "-c", "echo compiling; sleep 0.4; echo BUILD SUCCESS"]
    results = {r.build_type: r for r in BuildResult.objects.filter(job=job)}
    assert all(len(r.run_times_ms) == 3 and r.status == "success" for r in results.values())
    assert "quoted arg" in results["elide"].full_output
    assert f"race {job.pk}" in out
    assert "standard: building (run 2/3)" in out
    table = out[out.index("side ") :]
    assert "standard  success" in table and "elide     success" in table
    assert "speedup: " in table and "x (90% CI " in table and "% faster" in table
    assert "verdict: elide" in table


@pytest.mark.django_db(transaction=True)
def test_race_with_real_maven_and_missing_elide_is_void_and_exits_zero(manage, race_env, repo):
    require_tool("mvn", "the standard side builds with Maven")
    done = manage("race", str(repo), env=race_env)
    assert done.returncode == 0, done.stderr
    reason = "elide is not installed on worker race@"
    assert f"elide: failure: {reason}" in done.stdout
    assert "standard  success" in done.stdout and "maven (Apache Maven 3" in done.stdout
    assert f"could not run: {reason}" in done.stdout and "verdict: void" in done.stdout
    results = {r.build_type: r for r in BuildResult.objects.all()}
    assert results["standard"].bell_rung and results["standard"].tool_version
    assert results["standard"].artifact_files == 1 and results["standard"].artifact_classes == 1
    assert results["elide"].error.startswith(reason)
    assert results["elide"].error.endswith("(looked for elide-not-installed)")
    assert results["elide"].error_kind == "infrastructure"


@pytest.mark.django_db(transaction=True)
def test_race_that_cannot_clone_exits_non_zero_with_one_line(manage, race_env, tmp_path):
    empty = tmp_path / "not-a-repo"
    empty.mkdir()
    done = manage("race", str(empty), "--standard-cmd", "true", "--elide-cmd", "true",
                  env=race_env)  # fmt: skip
    assert done.returncode == 1
    error = done.stderr.strip()
    assert error.startswith("CommandError: the race could not run: git clone failed:")
    assert "Traceback" not in done.stderr and len(error.splitlines()) == 1
    assert Job.objects.get().status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["https://example.com/a/b"], "are not accepted"),
        (["--iterations", "0"], "expected a whole number of at least 1"),
        (["--mode", "sideways"], "invalid choice"),
        (["--standard-cmd", "sh -c 'unterminated"], "--standard-cmd: No closing quotation"),
        (["--ref", "--evil"], "expected one argument"),
        (["--ref", "a..b"], "The ref may contain"),
    ],
)
def test_bad_input_is_a_clear_error_and_creates_nothing(manage, race_env, repo, args, message):
    argv = args if args[0].startswith("https") else [str(repo), *args]
    done = manage("race", *argv, env=race_env)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not Job.objects.exists()
