"""Races whose standard side runs the Maven or Gradle the arena provisioned: the repository's
wrapper scripts never run, the tool is fetched once and verified, and what cannot be provided
makes the race void with the reason."""

import pytest

from tests.provisioning import (
    CENTRAL,
    ENFORCER,
    MAVEN_PATH,
    OFFLINE_ARGS,
    RIGGED_WRAPPER,
    copy_mirror,
    gradle_distribution,
    gradle_wrapper_properties,
    offline_maven_files,
    tarball,
)
from tests.repos import make_git_repo
from tests.support import require_tool
from tests.toolchains import write_jar
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

JUST_SUCCEED = ["sh", "-c", "echo BUILD SUCCESS"]
# Longer than the race's build timeout (ARENA_BUILD_TIMEOUT, 900 s by default).
WRAPPER_SLEEP_SECONDS = 3600


class Collect(RaceListener):
    """Keeps each side's output and, when a side finishes (its workspace still there), the
    files under the workspaces named `look_for`."""

    def __init__(self, workspace_root, look_for="rigged-wrapper-ran"):
        self.output = {}
        self.workspace_root = workspace_root
        self.look_for = look_for
        self.found = {}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] = self.output.get(side, "") + text

    def on_side_finished(self, side, result):
        self.found[side] = {
            name: list(self.workspace_root.rglob(name)) for name in (self.look_for, "mvnw")
        }


@pytest.fixture
def config(tmp_path, central_maven_mirror):
    require_tool("bwrap", "builds run in the sandbox")
    require_tool("/usr/share/maven-repo", "the projects build offline with Debian's plugins")
    return EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        toolchains__maven_repository=central_maven_mirror.as_uri(),
        toolchains__maven_args=OFFLINE_ARGS,
    )


def race(config, repo, listener=None, **spec):
    listener = listener or Collect(config.workspace_root)
    spec.setdefault("cache", "cold")
    spec.setdefault("elide_cmd", JUST_SUCCEED)
    outcome = run_race(RaceSpec(str(repo), **spec), config, listener)
    return outcome, listener.output


def commands(output):
    return [line for line in output.splitlines() if line.startswith("$ ")]


def test_a_rigged_mvnw_never_runs_and_changes_nothing(config, tmp_path):
    plain_files = offline_maven_files(wrapper_version="3.9.11")
    rigged_files = {**plain_files, "mvnw": RIGGED_WRAPPER.format(seconds=WRAPPER_SLEEP_SECONDS)}
    rigged = make_git_repo(tmp_path / "rigged", rigged_files, executable=("mvnw",))
    plain = make_git_repo(tmp_path / "plain", plain_files)
    outputs = {}
    for name, repo in (("rigged", rigged), ("plain", plain)):
        listener = Collect(config.workspace_root)
        outcome, output = race(config, repo, listener)
        standard = outcome.sides["standard"]
        # The wrapper sleeps far beyond the build timeout: had it run, the side timed out.
        assert standard.status == "success", output["standard"][-3000:]
        assert standard.tool_version == "Maven 3.9.11 (provisioned; the wrapper asks for 3.9.11)"
        assert standard.artifacts["classes"] == 1
        outputs[name] = output["standard"]
        if name == "rigged":
            assert listener.found["standard"]["mvnw"]  # the script was in the checkout...
            assert listener.found["standard"]["rigged-wrapper-ran"] == []  # ...and never ran
    # The same command ran for both: the provisioned mvn, not ./mvnw.
    assert commands(outputs["rigged"]) == commands(outputs["plain"])
    assert commands(outputs["rigged"])[0].startswith(f"$ {config.tools_dir}/maven/3.9.11/")
    assert "RIGGED WRAPPER RAN" not in outputs["rigged"]


def test_maven_from_central_is_fetched_once_verified_and_reused_by_the_next_race(config, tmp_path):
    require_tool("slirp4netns", "a sibling test reaches Maven Central the same way")
    repo = make_git_repo(tmp_path / "wrapped", offline_maven_files(wrapper_version="3.9.11"))
    config = config.with_changes(toolchains__maven_repository=CENTRAL)
    url = f"{CENTRAL}/{MAVEN_PATH}/3.9.11/apache-maven-3.9.11-bin.tar.gz"
    first, first_output = race(config, repo)
    assert first.sides["standard"].status == "success", first_output["standard"][-3000:]
    assert (
        f"[arena] downloaded {url}, verified against its published SHA-512"
        in (first_output["standard"])
    )
    entry = config.tools_dir / "maven" / "3.9.11"
    inode = entry.stat().st_ino
    second, second_output = race(config, repo)
    assert second.sides["standard"].status == "success"
    assert f"[arena] taken from the tools store: {entry}" in second_output["standard"]
    assert "downloaded https://" not in second_output["standard"]
    assert entry.stat().st_ino == inode


def test_a_tampered_maven_download_makes_the_race_void(config, tmp_path, central_maven_mirror):
    mirror = copy_mirror(central_maven_mirror, tmp_path / "mirror")
    with open(tarball(mirror), "r+b") as archive:
        archive.seek(100_000)
        archive.write(b"tampered")
    repo = make_git_repo(tmp_path / "wrapped", offline_maven_files(wrapper_version="3.9.11"))
    outcome, _ = race(config.with_changes(toolchains__maven_repository=mirror.as_uri()), repo)
    standard = outcome.sides["standard"]
    assert standard.error_kind == "infrastructure" and standard.run_times_ms == []
    assert "does not match its published sha512 checksum" in standard.error
    assert outcome.verdict.verdict == "void"
    assert outcome.verdict.void_reason == standard.error
    assert not (config.tools_dir / "maven" / "3.9.11").exists()


def test_enforcer_ranges_select_the_maven_and_the_jdk(config, tmp_path):
    rules = ENFORCER.format(maven="[3.9.11,3.9.12)", java="[21,)")
    files = offline_maven_files()
    # In pluginManagement: read by the arena, never resolved by an offline build.
    files["pom.xml"] = files["pom.xml"].replace(
        "</build>",
        f"    <pluginManagement><plugins>\n{rules}\n    </plugins></pluginManagement>\n  </build>",
    )
    repo = make_git_repo(tmp_path / "ranged", files)
    outcome, output = race(config, repo)
    standard = outcome.sides["standard"]
    assert standard.status == "success", output["standard"][-3000:]
    assert standard.tool_version == (
        "Maven 3.9.11 (provisioned; ARENA_MAVEN_DEFAULT, which the project allows: "
        "[3.9.11,3.9.12) (maven-enforcer-plugin requireMavenVersion in pom.xml))"
    )
    assert int(standard.jdk.split()[0]) >= 21, standard.jdk
    assert (
        "it accepts [21,) (maven-enforcer-plugin requireJavaVersion in pom.xml)"
        in (output["standard"])
    )


def gradle_repo(tmp_path, version, digest=""):
    files = {
        "build.gradle": "apply plugin: 'java'\n",
        "src/main/java/dev/arena/test/Hello.java": "package dev.arena.test; class Hello {}\n",
        "gradle/wrapper/gradle-wrapper.properties": gradle_wrapper_properties(version, digest),
        "gradlew": RIGGED_WRAPPER.format(seconds=WRAPPER_SLEEP_SECONDS),
    }
    return make_git_repo(tmp_path / "gradle-project", files, executable=("gradlew",))


def test_gradle_is_provisioned_from_the_configured_source_and_gradlew_never_runs(config, tmp_path):
    jar = write_jar(tmp_path / "app.jar", ["dev/arena/test/Hello.class"])
    _, digest = gradle_distribution(tmp_path / "dists", "8.99", jar=jar)
    repo = gradle_repo(tmp_path, "8.99", digest)
    config = config.with_changes(toolchains__gradle_distributions=str(tmp_path / "dists"))
    outcome, output = race(config, repo)
    standard = outcome.sides["standard"]
    assert standard.status == "success", output["standard"][-3000:]
    assert standard.tool == "gradle"
    assert standard.tool_version == "Gradle 8.99 (provisioned; the wrapper asks for 8.99)"
    assert "stand-in gradle 8.99: build -x test" in output["standard"]
    assert "RIGGED WRAPPER RAN" not in output["standard"]


def test_gradle_without_a_reachable_source_makes_the_race_void_with_the_reason(config, tmp_path):
    repo = gradle_repo(tmp_path, "9.2.1")
    outcome, _ = race(config, repo)  # the default source, services.gradle.org
    standard = outcome.sides["standard"]
    assert standard.error_kind == "infrastructure"
    assert standard.error.startswith(
        "Gradle 9.2.1 could not be provisioned: https://services.gradle.org/distributions/"
        "gradle-9.2.1-bin.zip could not be fetched ("
    ), standard.error
    assert outcome.verdict.verdict == "void"
