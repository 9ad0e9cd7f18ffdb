"""The Elide side as Elide runs: its command by probed version, the project's JDK as JAVA_HOME,
its in-project dependency store carried by the warm cache (docs/BUILDS.md, "The Elide side").

A stand-in `elide` (written here) reserves address space as Elide's native image does, answers
`--version`, records the argv and environment it was started with, compiles the project with
the javac of its JAVA_HOME on `build` and writes the jar where Elide writes a single-module jar.
"""

import re

import pytest

from tests.repos import gradle_project_files, make_git_repo, maven_project_files
from tests.support import require_tool, searchable
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race
from workers.engine.checkout.cache import cache_key, cache_state, copy_tree
from workers.engine.checkout.carried import STASH, carried_summary, stash, unstash
from workers.engine.isolation.sandbox import SYSTEM_PATH
from workers.engine.tools.elide_versions import ELIDE_NEEDS_POM, elide_template, elide_version
from workers.engine.tools.recipes import elide_recipe, with_elide_version

FAKE_ELIDE = """#!/bin/sh
# Stands in for Elide's CLI: reserves ~33 GB of address space as Elide's native image does at
# start, records how it was started, then builds like `elide build`.
/usr/bin/python3 -c 'import mmap; mmap.mmap(-1, 33 << 30, flags=mmap.MAP_PRIVATE, prot=0)' ||
  {{ echo "Failed to create the main Isolate"; exit 1; }}
case "$1" in
  --version) echo "{version}"; exit 0;;
  build)
    record=.elide-fake-record
    {{ echo "argv: $*"; echo "JAVA_HOME=$JAVA_HOME"; echo "PATH=$PATH"; }} > "$record"
    store=.dev/dependencies/m2/dev/fake/dep/1.0
    if [ -f "$store/dep-1.0.jar" ]; then echo "m2: carried" >> "$record"
    else mkdir -p "$store" && echo dependency > "$store/dep-1.0.jar"
         echo "m2: resolved" >> "$record"; fi
    sed 's/^/elide-fake: /' "$record"
    mkdir -p .dev/classes .dev/artifacts/jvm/jars
    "$JAVA_HOME/bin/javac" -d .dev/classes $(find src/main/java -name '*.java') || exit 1
    "$JAVA_HOME/bin/jar" cf .dev/artifacts/jvm/jars/hello-1.0.jar -C .dev/classes . || exit 1
    echo "BUILD SUCCESS";;
  *) echo "unknown command $1"; exit 64;;
esac
"""
# The standard side builds the same classes into target/ (a custom command: no Maven needed).
STANDARD = [
    "sh",
    "-c",
    'mkdir -p target/classes && javac -d target/classes $(find src/main/java -name "*.java")'
    " && jar cf target/hello-1.0.jar -C target/classes .",
]


class Collect(RaceListener):
    def __init__(self):
        self.output = {}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] = self.output.get(side, "") + text


def fake_elide(directory, version):
    path = directory / "elide"
    directory.mkdir(parents=True)
    path.write_text(FAKE_ELIDE.format(version=version))
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def setup(tmp_path):
    require_tool("bwrap", "builds run in the sandbox")
    require_tool("javac", "the stand-in elide compiles with the JDK's javac")
    root = searchable(tmp_path)
    repo = make_git_repo(root / "hello", maven_project_files())
    config = EngineConfig(workspace_root=root / "workspaces").with_changes(
        stores__cache_root=root / "caches", isolation__network="off"
    )
    return root, repo, config


def race(config, repo, **spec):
    listener = Collect()
    outcome = run_race(RaceSpec(str(repo), standard_cmd=STANDARD, **spec), config, listener)
    assert outcome.status == "completed", outcome.error
    return outcome, listener


@pytest.mark.parametrize(
    ("version", "template", "pom_note"),
    [
        ("elide 1.0.0-beta10", "1.0.0-beta10 and earlier: elide build", True),
        ("elide 1.0.0-beta11", "after 1.0.0-beta10: elide build on pom.xml", False),
    ],
)
def test_elide_runs_its_versions_command_with_the_projects_jdk_and_its_carried_store(
    setup, version, template, pom_note
):
    root, repo, config = setup
    elide = fake_elide(root / "elide-install", version)
    outcome, seen = race(
        config.with_changes(toolchains__elide=elide), repo, cache="warm", iterations=2
    )
    result = outcome.sides["elide"]
    output = seen.output["elide"]
    assert result.status == "success", output[-3000:]
    assert result.tool_version == version
    # The address-space limit leaves room for a native image's reservation, the same for both.
    for side in ("standard", "elide"):
        assert "address space 65536 MB" in seen.output[side]
    assert f"[arena] Elide recipe: {template} (" in output
    assert ("compiles none of its sources" in output) == pom_note
    # One command, `elide build`, run on the pom.xml: never `elide adopt`.
    assert f"$ {elide} build\n" in output and "adopt" not in output
    assert re.findall(r"elide-fake: argv: (.*)", output) == ["build"] * 3  # prepare + 2 runs
    # The project's JDK is JAVA_HOME (how Elide takes it); PATH is not changed for it.
    jdk_home = re.match(r"\d+ \((.*)\)", result.jdk).group(1)
    assert set(re.findall(r"elide-fake: JAVA_HOME=(.*)", output)) == {jdk_home}
    assert set(re.findall(r"elide-fake: PATH=(.*)", output)) == {SYSTEM_PATH}
    # The prepare build resolves into .dev/dependencies/m2; every measured run starts with it.
    assert re.findall(r"elide-fake: m2: (\w+)", output) == ["resolved", "carried", "carried"]
    assert "in the project's dependency store" in output.split("=== run 1/2 ===", 1)[1]
    assert result.artifacts["files"] == 1 and result.class_names == {"dev/arena/test/Hello.class"}
    assert result.phases["downloads"] == [None, None]  # Elide prints no download lines
    assert outcome.verdict.verdict != "not_comparable", outcome.verdict.parity
    # A standard side run as a custom javac command is not Maven: no download count either.
    assert outcome.sides["standard"].class_names == result.class_names


def test_another_elide_version_does_not_reuse_the_warm_state(setup):
    root, repo, config = setup
    first = config.with_changes(toolchains__elide=fake_elide(root / "a", "elide 1.0.0-beta10"))
    second = config.with_changes(toolchains__elide=fake_elide(root / "b", "elide 1.0.0-beta11"))
    _, seen = race(first, repo, cache="warm")
    assert "warm cache for elide: filled by a full build" in seen.output["elide"]
    _, seen = race(first, repo, cache="warm")
    assert "warm cache for elide: taken from the host cache" in seen.output["elide"]
    _, seen = race(second, repo, cache="warm")
    assert "warm cache for elide: filled by a full build" in seen.output["elide"]


def test_the_cache_key_names_the_command_the_tool_version_and_the_jdk():
    base = cache_state("maven", [["mvn", "package"]], "Apache Maven 3.9.9", "17 (/jdk17)")
    others = [
        cache_state("maven", [["mvn", "compile"]], "Apache Maven 3.9.9", "17 (/jdk17)"),
        cache_state("maven", [["mvn", "package"]], "Apache Maven 3.8.7", "17 (/jdk17)"),
        cache_state("maven", [["mvn", "package"]], "Apache Maven 3.9.9", "21 (/jdk21)"),
        cache_state("gradle", [["mvn", "package"]], "Apache Maven 3.9.9", "17 (/jdk17)"),
    ]
    assert len({base, *others}) == 5 and base.startswith("maven-")
    assert cache_state("maven", [["mvn", "package"]], "Apache Maven 3.9.9", "17 (/jdk17)") == base
    assert cache_key("r", "c", base) != cache_key("r", "c", others[0])


def test_elide_versions_choose_their_template_and_the_override_wins(tmp_path):
    assert elide_version("Elide 1.0.0-beta10") == (1, 0, 0, 1, 10)
    assert elide_version("1.0.0-rc1") > elide_version("1.0.0-beta10") > elide_version("0.9.9")
    assert elide_version("1.0.0") > elide_version("1.0.0-rc1")
    assert elide_version("no version here") is None
    assert not elide_template("elide 1.0.0-beta8").builds_pom_sources
    assert not elide_template("1.0.0-beta10").builds_pom_sources
    assert elide_template("1.0.0-beta11").builds_pom_sources
    assert elide_template("1.0.0").builds_pom_sources
    assert elide_template("").builds_pom_sources  # unknown: the newest template
    make_git_repo(tmp_path / "repo", maven_project_files())
    elide = fake_elide(tmp_path / "bin", "elide 1.0.0-beta10")
    config = EngineConfig(tmp_path / "ws").with_changes(
        toolchains__elide=elide, toolchains__elide_recipe="{elide} build --release"
    )
    recipe = with_elide_version(elide_recipe(tmp_path / "repo", config), "1.0.0-beta10", config)
    assert [step.argv for step in recipe.steps] == [[elide, "build", "--release"]]
    assert recipe.notes == ["Elide recipe: ARENA_ELIDE_RECIPE ({elide} build --release)"]
    assert not recipe.jdk_on_path and recipe.error == ""
    broken = config.with_changes(toolchains__elide_recipe="{elide} 'build")
    recipe = with_elide_version(elide_recipe(tmp_path / "repo", broken), "", broken)
    assert recipe.error.startswith("ARENA_ELIDE_RECIPE is not a valid command")
    make_git_repo(tmp_path / "gradle-only", gradle_project_files())
    assert elide_recipe(tmp_path / "gradle-only", config).error == ELIDE_NEEDS_POM


def test_the_old_16_gib_address_space_limit_stopped_a_native_image(setup):
    root, repo, config = setup
    config = config.with_changes(
        toolchains__elide=fake_elide(root / "bin", "elide 1.0.0-beta11"),
        limits__address_space_mb=16384,
    )
    outcome, seen = race(config, repo, cache="cold")
    assert "Failed to create the main Isolate" in seen.output["elide"], seen.output["standard"][
        -2500:
    ]
    assert outcome.sides["elide"].status == "failure"
    assert "address space 16384 MB" in seen.output["standard"]


def test_the_carried_store_follows_no_symlink_a_repository_committed(tmp_path):
    def tree(root, files):
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        return root

    built = tree(tmp_path / "built", {".dev/dependencies/m2/dep.jar": "jar"})
    snapshot = tree(tmp_path / "state", {".m2/settings.xml": "s", f"{STASH}/planted": "x"})
    stash(snapshot, built, copy_tree)
    assert (snapshot / STASH / ".dev/dependencies/m2/dep.jar").read_text() == "jar"
    assert not (snapshot / STASH / "planted").exists()  # a home never brings its own
    outside = tree(tmp_path / "outside", {"keep.txt": "host file"})
    for link in (".dev", ".dev/dependencies"):
        home = tmp_path / f"home-{link.count('/')}"
        copy_tree(snapshot, home)
        project = tmp_path / f"project-{link.count('/')}"
        (project / link).parent.mkdir(parents=True, exist_ok=True)
        (project / link).symlink_to(outside)
        notes = unstash(home, project, copy=copy_tree)
        assert notes == [
            ".dev/dependencies/m2 not carried: the project has a non-directory on its path"
        ]
        assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
        stash(tmp_path / f"again-{link.count('/')}", project, copy_tree)
        assert not (tmp_path / f"again-{link.count('/')}" / STASH).exists()
    home, project = tmp_path / "home-ok", tmp_path / "project-ok"
    copy_tree(snapshot, home)
    project.mkdir()
    assert unstash(home, project, copy=copy_tree) == []
    assert (project / ".dev/dependencies/m2/dep.jar").read_text() == "jar"
    assert carried_summary(project) == (1, 3)
