"""Real builds from Maven Central inside the sandbox with network on: cold and warm caches,
the noop and incremental scenarios. Few and small on purpose: each downloads for real."""

import re

import pytest

from jobs.models import BuildResult, Job, JobStatus
from tests.repos import central_project_files, make_git_repo
from tests.support import require_tool, searchable
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

CENTRAL = "Downloading from central: https://repo.maven.apache.org/maven2/"
# The elide side, where Elide cannot be installed: a second real Maven configuration.
PARALLEL_MAVEN = ["mvn", "-B", "-T", "2", "package", "-DskipTests"]
STATE_RE = re.compile(r"\[arena\] (cold|warm) cache: starting from (\d+) files, .* \(state (\w+), ")


class Collect(RaceListener):
    def __init__(self):
        self.output = {}
        self.states = []

    def on_output(self, side, text, elapsed_ms):
        self.output[side] = self.output.get(side, "") + text

    def on_state(self, side, state):
        self.states.append((side, state))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    require_tool("bwrap", "builds run in the sandbox")
    require_tool("slirp4netns", "builds reach Maven Central through it")
    require_tool("mvn", "the standard side builds with Maven")
    root = searchable(tmp_path_factory.mktemp("central"))
    repo = make_git_repo(root / "central-project", central_project_files())
    config = EngineConfig(workspace_root=root / "workspaces").with_changes(
        stores__cache_root=root / "caches", isolation__network="on"
    )
    return repo, config


def race(project, config=None, **spec):
    repo, shared_config = project
    config = config or shared_config
    listener = Collect()
    outcome = run_race(RaceSpec(str(repo), elide_cmd=PARALLEL_MAVEN, **spec), config, listener)
    assert outcome.status == "completed", outcome.error
    for side, result in outcome.sides.items():
        assert result.status == "success", (side, result.error, listener.output[side][-3000:])
    return outcome, listener


def test_cold_races_download_inside_their_measured_runs(project):
    outcome, seen = race(project, cache="cold")
    for side, result in outcome.sides.items():
        output = seen.output[side]
        assert result.jdk.startswith("17 (/usr/lib/jvm/"), result.jdk
        assert "the project asks for Java 17 (maven.compiler.release in pom.xml)" in output
        measured = output.split("[arena] cold cache: starting from 0 files", 1)[1]
        assert CENTRAL + "junit/junit/4.13.2/junit-4.13.2.jar" in measured
        assert CENTRAL + "org/apache/maven/plugins/maven-compiler-plugin/3.13.0/" in measured
        assert "BUILD SUCCESS" in measured
        phases = result.phases
        assert phases["runs_ms"] == result.run_times_ms and len(result.run_times_ms) == 1
        # Counted from Maven's own "Downloaded from" lines: junit, hamcrest, the plugins.
        assert phases["downloads"][0] == measured.count("Downloaded from central: ") >= 5
        assert phases["clone_ms"] >= 0 and phases["prepare_ms"] is not None
        assert "=== prepare" not in output  # nothing is prepared in cold mode


def test_warm_races_prepare_unmeasured_and_start_every_run_from_the_same_state(project):
    _, config = project
    own_host_cache = config.with_changes(
        stores__cache_root=config.stores.cache_root.parent / "warm-caches"
    )
    outcome, seen = race(project, own_host_cache, cache="warm", iterations=2)
    standard, elide = seen.output["standard"], seen.output["elide"]
    # One unmeasured full build fills the Maven cache for this commit and command; the elide
    # side, also Maven but another command (-T 2), fills its own.
    assert "=== prepare: one full build fills the cache (not measured) ===" in standard
    assert CENTRAL + "junit/junit/4.13.2/junit-4.13.2.jar" in standard
    assert "warm cache for maven: filled by a full build" in standard
    assert "warm cache for maven: filled by a full build" in elide
    assert "host cache" not in standard + elide  # the first warm race of this commit
    assert ("standard", "prepare: warming the cache (not measured)") in seen.states
    for side, output in (("standard", standard), ("elide", elide)):
        found = STATE_RE.findall(output)
        assert len(found) == 2, output[-3000:]  # one per measured run
        assert len(set(found)) == 1, found  # the same files, sizes and names for every run
        assert int(found[0][1]) > 10
        prepare, measured = output.split("[arena] warm cache: starting from", 1)
        assert "Downloading from" not in measured and "BUILD SUCCESS" in measured
        # Warm means warm: the measured runs fetched nothing, as Maven's output counts it.
        assert prepare.count("Downloaded from central: ") >= 5
        assert outcome.sides[side].phases["downloads"] == [0, 0]
        assert "[arena] downloads in this run: 0" in measured
    result = outcome.sides["standard"]
    assert result.phases["prepare_ms"] > 0 and result.phases["runs_ms"] == result.run_times_ms
    assert len(result.run_times_ms) == 2
    # The verdict judges the measured runs only; the jars are those of the last measured run.
    assert outcome.verdict.verdict not in ("void", "not_comparable"), outcome.verdict
    assert result.artifacts["files"] >= 1 and result.artifacts["classes"] >= 1


def test_a_noop_race_rebuilds_an_unchanged_tree(project):
    outcome, seen = race(project, cache="warm", scenario="noop")
    for side, result in outcome.sides.items():
        output = seen.output[side]
        assert re.search(
            r"warm cache for maven: (taken from the host cache|filled by a full build"
            r"|prepared earlier in this race)",
            output,
        )
        initial, measured = output.split("=== initial build for the noop runs (not measured) ===")[
            1
        ].split("[arena] prepare phase:", 1)
        assert "Compiling 1 source file" in initial
        assert "Nothing to compile - all classes are up to date" in measured
        assert len(result.run_times_ms) == 1 and result.phases["prepare_ms"] > 0


@pytest.mark.django_db(transaction=True)
def test_an_incremental_race_from_the_command_line_records_per_scenario_results(project, manage):
    repo, config = project
    done = manage(
        "race", str(repo), "--cache", "warm", "--scenario", "incremental", "--iterations", "2",
        "--elide-cmd", " ".join(PARALLEL_MAVEN),
        env={
            "ARENA_WORKSPACE_ROOT": str(config.workspace_root),
            "ARENA_CACHE_ROOT": str(config.stores.cache_root),
        },
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    job = Job.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert (job.cache, job.scenario) == ("warm", "incremental")
    assert "cache warm, scenario incremental" in done.stdout
    assert re.search(
        r"standard\s+\d+\.\d\d s\s+\d+\.\d\d s\s+\d+\.\d\d s \d+\.\d\d s  17 ", done.stdout
    )
    for result in BuildResult.objects.filter(job=job):
        assert result.status == "success", result.error
        assert result.jdk.startswith("17 (/usr/lib/jvm/")
        assert result.phases["runs_ms"] == result.run_times_ms and len(result.run_times_ms) == 2
        assert result.phases["prepare_ms"] > 0 and result.phases["clone_ms"] >= 0
        output = result.full_output
        for number in (1, 2):
            change = (
                f"[arena] incremental change {number}: src/main/java/dev/arena/test/Greeter.java "
                "line 9 (a string literal in a method body)"
            )
            assert change in output
            assert (
                "Recompiling the module because of changed source code"
                in output.split(change, 1)[1]
            )
