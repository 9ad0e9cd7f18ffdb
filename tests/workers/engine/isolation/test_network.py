"""Network on: a build downloads from Maven Central over TLS, as real builds do.

Maven runs inside the sandbox with the system trust store (/etc/ssl/certs) and slirp4netns'
resolver; its plugins come from Debian's repository (a file:// plugin repository, so the test
stays quick) and the one dependency, junit with hamcrest, from Maven Central.
"""

from tests.repos import JUNIT_DEPENDENCY, PROJECT_HEAD, make_git_repo
from tests.support import require_tool
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

POM_WITH_ONE_DEPENDENCY = (
    PROJECT_HEAD.format(artifact="central")
    + """  <pluginRepositories>
    <pluginRepository><id>debian</id><url>file:///usr/share/maven-repo</url></pluginRepository>
  </pluginRepositories>
"""
    + JUNIT_DEPENDENCY
    + "</project>\n"
)
JUNIT_FROM_CENTRAL = (
    "Downloaded from central: https://repo.maven.apache.org/maven2/junit/junit/4.13.2/"
    "junit-4.13.2.jar"
)


def test_maven_in_the_sandbox_resolves_a_dependency_from_maven_central(tmp_path):
    require_tool("bwrap", "builds run in bubblewrap")
    require_tool("slirp4netns", "network on uses slirp4netns")
    require_tool("mvn", "the build is Maven's")
    repo = make_git_repo(tmp_path / "central", {"pom.xml": POM_WITH_ONE_DEPENDENCY})
    output = {"standard": ""}

    class Collect(RaceListener):
        def on_output(self, side, text, elapsed_ms):
            output[side] = output.get(side, "") + text

    maven = ["mvn", "-B", "-Dmaven.repo.local=/build/home/m2", "test-compile"]
    spec = RaceSpec(str(repo), standard_cmd=maven, elide_cmd=["true"])
    outcome = run_race(spec, EngineConfig(workspace_root=tmp_path / "workspaces"), Collect())
    standard = outcome.sides["standard"]
    assert standard.status == "success", output["standard"][-3000:]
    assert JUNIT_FROM_CENTRAL in output["standard"]
