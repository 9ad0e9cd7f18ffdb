"""A suite raced end to end by real `manage.py run_worker` processes: three generated Maven
projects, a stand-in Maven, and a stand-in Elide whose version and speed the test sets.

Elide 1.0 races the suite once however many workers report it; 1.1, 30% slower on one
project, raises exactly one regression, on that project, on the page, in the feed and in the
mail (the console backend prints it in the worker's log); 1.2, with no change, raises none.
"""

import time

import pytest
from defusedxml import ElementTree

from suites.models import Suite, SuiteRepository, SuiteRun, SuiteRunStatus, VersionChange
from tests.repos import make_git_repo, maven_project_files
from tests.support import require_tool
from tests.system.test_worker_processes import WorkerProcess
from tests.toolchains import class_names, toolchain, write_jar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAKE_ELIDE = """#!/bin/sh
# A stand-in Elide {version}: answers --version; `build` takes {fast} s ({slow} s in a project
# holding a file named SLOW) and leaves the jar lying beside it where Elide leaves jars.
case "$1" in
  --version) echo "Elide {version}"; exit 0;;
esac
if [ -f SLOW ]; then sleep {slow}; else sleep {fast}; fi
mkdir -p .dev/artifacts/jvm/jars && cp "${{0%/*}}/app.jar" .dev/artifacts/jvm/jars/app.jar
echo "BUILD SUCCESS"
"""
FAST_ELIDE, STANDARD = 0.2, 0.4
WORKER_ENV = {
    "ARENA_HEARTBEAT_INTERVAL": "0.2",
    "ARENA_WORKER_POLL_INTERVAL": "0.1",
    "ARENA_WORKER_DEAD_AFTER": "30",
    "ARENA_ALERT_EMAILS": "elide-team@example.com",
}


def fake_elide(directory, version, slow):
    directory.mkdir(parents=True)
    write_jar(directory / "app.jar", class_names(10))
    script = directory / "elide"
    script.write_text(FAKE_ELIDE.format(version=version, fast=FAST_ELIDE, slow=slow))
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def suite(tmp_path, allow_local_repos):
    made = Suite.objects.create(name="core", runs=3, warmups=0, cache="cold")
    for position, name in enumerate(("small", "medium", "large")):
        files = maven_project_files()
        if name == "medium":
            files["SLOW"] = "Elide 1.1 and later take longer here.\n"
        repo = make_git_repo(tmp_path / "repos" / name, files)
        SuiteRepository.objects.create(suite=made, url=str(repo), position=position)
    return made


def race_version(subprocess_env, tmp_path, version, *, slow, workers=1):
    """Start `workers` workers whose Elide is `version`; wait for the suite run their probes
    start to complete; stop them with SIGTERM, so the unit of work that completed the run, and
    mailed its changes, ends first. Returns the run and the workers' logs."""
    env = {
        **subprocess_env,
        **WORKER_ENV,
        "ARENA_ELIDE": fake_elide(tmp_path / f"elide-{version}", version, slow),
        "ARENA_MVN": toolchain(tmp_path / f"mvn-{version}", "mvn", seconds=(STANDARD,)),
    }
    started = [
        WorkerProcess(env, tmp_path, f"suite-{version}-{number}") for number in range(workers)
    ]
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            run = SuiteRun.objects.filter(versions__elide=version).first()
            if run is not None and run.status == SuiteRunStatus.COMPLETED:
                break
            time.sleep(0.5)
        else:
            logs = "\n".join(worker.output[-3000:] for worker in started)
            pytest.fail(f"the suite run of elide {version} did not complete:\n{logs}")
    finally:
        for worker in started:
            worker.ask_to_stop()
        for worker in started:
            worker.drain()
    return run, "".join(worker.output for worker in started)


def test_versions_race_the_suite_and_one_slower_project_is_one_regression(
    suite, subprocess_env, tmp_path, client
):
    require_tool("bwrap", "builds run in the sandbox")
    first, _ = race_version(subprocess_env, tmp_path, "1.0.0", slow=FAST_ELIDE, workers=2)
    # Two workers reported 1.0.0 at once: one run, one race per project.
    assert SuiteRun.objects.count() == 1 and first.races.count() == 3
    assert {race.job.priority for race in first.races.select_related("job")} == {1}

    _, logs = race_version(subprocess_env, tmp_path, "1.1.0", slow=FAST_ELIDE * 1.3)
    change = VersionChange.objects.get()
    assert (change.repository_name, change.kind) == ("medium", "regression")
    assert (change.from_version, change.to_version) == ("1.0.0", "1.1.0")
    assert change.ci_high < 0 and change.change < -0.05
    assert logs.count("Subject: [Build Arena] suite core: 1 regression(s)") == 1

    _, logs = race_version(subprocess_env, tmp_path, "1.2.0", slow=FAST_ELIDE * 1.3)
    assert VersionChange.objects.count() == 1 and "Subject: [Build Arena]" not in logs

    for url in ("/regressions/", "/versions/"):
        page = client.get(url).content.decode()
        assert page.count('class="change-regression"') == 1 and "1.0.0 → 1.1.0" in page, url
    feed = ElementTree.fromstring(client.get("/feeds/regressions.atom").content)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1 and "medium" in entries[0].findtext(
        "{http://www.w3.org/2005/Atom}title"
    )
    versions = [v["version"] for v in client.get("/api/versions").json()["versions"]]
    assert versions == ["1.2.0", "1.1.0", "1.0.0"]
