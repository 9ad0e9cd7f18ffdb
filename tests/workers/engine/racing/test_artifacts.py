"""Same work: parity compares class names, class-file versions and resources read from the
jars (bounded, hostile jars included), and a side with no jar never wins."""

import subprocess
import tracemalloc
import zipfile
from types import SimpleNamespace

from jobs.outcomes.verdict import judge
from tests.repos import make_git_repo, maven_project_files
from tests.support import require_tool, searchable
from tests.toolchains import write_jar
from workers.engine import EngineConfig, RaceSpec, run_race
from workers.engine.racing.artifacts import read_jar, side_artifacts

HELLO = 'package p;\npublic class Hello { public String hi() { return "hi"; } }\n'
OFFLINE_MAVEN = ["mvn", "-B", "-o", "-Dmaven.repo.local=/usr/share/maven-repo"]


def compiled_jar(tmp_path, release, jar):
    """A jar of p/Hello.class compiled by javac --release `release`, with one resource."""
    classes = tmp_path / f"classes-{release}"
    (tmp_path / "p").mkdir(exist_ok=True)
    (tmp_path / "p" / "Hello.java").write_text(HELLO)
    subprocess.run(
        ["javac", "--release", str(release), "-d", str(classes), str(tmp_path / "p/Hello.java")],
        check=True,
    )
    jar.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        archive.writestr("META-INF/maven/p/hello/pom.properties", "version=1\n")
        archive.write(classes / "p" / "Hello.class", "p/Hello.class")
        archive.writestr("p/messages.properties", "hi=hi\n")
    return jar


def side(name, found, status="success"):
    return SimpleNamespace(
        side=name, status=status, error_kind="", error="", run_times_ms=[1000, 1000, 1000],
        class_names=found.class_names, class_versions=found.class_versions,
        resources=found.resources, artifacts=found.summary(),
    )  # fmt: skip


def verdict(standard, elide):
    return judge(standard, elide, tie_tolerance=0.01, parity_tolerance=0.02)


def test_class_file_versions_and_resources_are_read_from_the_jars(tmp_path):
    require_tool("javac", "classes are compiled for two Java levels")
    compiled_jar(tmp_path, 8, tmp_path / "std" / "target" / "hello-1.0.jar")
    compiled_jar(tmp_path, 17, tmp_path / "el" / ".dev" / "artifacts" / "jvm" / "jars" / "h.jar")
    standard = side_artifacts("standard", tmp_path / "std")
    elide = side_artifacts("elide", tmp_path / "el")
    assert standard.class_versions == {"p/Hello.class": 52}  # Java 8
    assert elide.class_versions == {"p/Hello.class": 61}  # Java 17
    # The tool's own metadata (manifest, META-INF/maven) is not the project's resources.
    assert standard.resources == elide.resources == {"p/messages.properties"}
    different = verdict(side("standard", standard), side("elide", elide))
    assert different.verdict == "not_comparable" and different.winner is None
    assert different.parity["versionMismatches"] == 1
    assert (
        "class-file version 52 in the standard build, 61 in Elide's" in different.parity["reason"]
    )
    same = verdict(side("standard", standard), side("elide", standard))
    assert same.verdict != "not_comparable" and same.parity["difference"] == 0
    # A missing resource is a difference too.
    without = SimpleNamespace(**{**vars(side("elide", standard)), "resources": set()})
    missing = verdict(side("standard", standard), without)
    assert missing.verdict == "not_comparable"
    assert missing.parity["resourceDifferences"] == 1


def test_hostile_jars_are_read_within_bounds(tmp_path):
    jar = tmp_path / "target" / "bomb.jar"
    jar.parent.mkdir()
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
        # 256 MB of zeros behind a Java 11 class header: compresses to about 250 KB.
        header = b"\xca\xfe\xba\xbe\x00\x00\x00\x37"
        with archive.open("x/Bomb.class", "w", force_zip64=True) as entry:
            entry.write(header)
            block = bytes(1 << 20)
            for _ in range(256):
                entry.write(block)
        archive.writestr("x/" + "N" * 5000 + ".class", b"\xca\xfe\xba\xbe")  # odd: too long
        archive.writestr("x/NotAClass.class", b"plain text")
        archive.writestr("../../escape.txt", b"a name is only ever a set member")
    (tmp_path / "target" / "app-sources.jar").symlink_to(jar)
    with zipfile.ZipFile(tmp_path / "target" / "app-javadoc.jar", "w") as archive:
        archive.writestr("x/Doc.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34")
    tracemalloc.start()
    found = side_artifacts("standard", tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the 256 MB entry was never decompressed
    assert found.class_versions == {"x/Bomb.class": 55, "x/NotAClass.class": None}
    assert found.class_names == {"x/Bomb.class", "x/NotAClass.class"}  # javadoc jar not compared
    assert found.resources == {"../../escape.txt"}
    assert found.files == 2  # the link is skipped, never followed
    _, contents, note = read_jar(jar, max_headers=1)
    assert contents.class_versions == {"x/Bomb.class": 55} and "first 1 classes" in note


def test_elides_jars_are_found_in_every_module(tmp_path):
    write_jar(tmp_path / ".dev" / "artifacts" / "jvm" / "jars" / "root.jar", ["r/R.class"])
    write_jar(tmp_path / "core" / ".dev" / "artifacts" / "jvm" / "jars" / "core.jar", ["c/C.class"])
    write_jar(tmp_path / "a" / "b" / ".dev" / "artifacts" / "jvm" / "b.jar", ["b/B.class"])
    write_jar(tmp_path / "core" / ".dev" / "dependencies" / "m2" / "dep.jar", ["d/D.class"])
    found = side_artifacts("elide", tmp_path)
    assert found.class_names == {"r/R.class", "c/C.class", "b/B.class"} and found.files == 3


def test_a_side_with_no_jar_never_wins():
    jar = SimpleNamespace(class_names={"p/A.class"}, class_versions={}, resources=set())
    jar.summary = lambda: {"files": 1, "bytes": 10, "classes": 1}
    none = SimpleNamespace(class_names=set(), class_versions={}, resources=set())
    none.summary = lambda: {"files": 0, "bytes": 0, "classes": 0}
    faster_without_jar = side("standard", jar), side("elide", none)
    faster_without_jar[1].run_times_ms = [10, 10, 10]
    outcome = verdict(*faster_without_jar)
    assert outcome.verdict == "not_comparable" and outcome.winner is None
    assert outcome.parity["reason"] == "the elide side produced no jar"
    # Nor by forfeit: the other side failed, this one built nothing.
    forfeit = verdict(side("standard", jar, status="failure"), side("elide", none))
    assert forfeit.verdict == "inconclusive" and forfeit.winner is None
    assert verdict(side("standard", jar, status="failure"), side("elide", jar)).winner == "elide"


def race(tmp_path, **spec):
    require_tool("bwrap", "builds run in the sandbox")
    root = searchable(tmp_path)
    repo = make_git_repo(root / "hello", maven_project_files())
    config = EngineConfig(workspace_root=root / "workspaces").with_changes(isolation__network="off")
    outcome = run_race(RaceSpec(str(repo), cache="cold", **spec), config)
    assert outcome.status == "completed", outcome.error
    return outcome


def test_compile_only_against_package_is_never_a_win(tmp_path):
    require_tool("mvn", "both sides run Maven")
    outcome = race(
        tmp_path,
        standard_cmd=[*OFFLINE_MAVEN, "compile"],
        elide_cmd=[*OFFLINE_MAVEN, "package", "-DskipTests"],
    )
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    assert standard.status == elide.status == "success"
    assert standard.artifacts["files"] == 0 and elide.artifacts["files"] == 1
    assert outcome.verdict.verdict == "not_comparable" and outcome.verdict.winner is None
    assert outcome.verdict.parity["reason"] == "the standard side produced no jar"
    assert outcome.speedup is None


def test_jars_compiled_for_java_8_and_17_are_not_comparable(tmp_path):
    require_tool("javac", "both sides compile with javac")
    build = (
        'mkdir -p {out} c && javac --release {release} -d c $(find src/main/java -name "*.java")'
        " && jar cf {out}/hello.jar -C c ."
    )
    outcome = race(
        tmp_path,
        standard_cmd=["sh", "-c", build.format(out="target", release=8)],
        elide_cmd=["sh", "-c", build.format(out=".dev/artifacts/jvm/jars", release=17)],
    )
    assert outcome.sides["standard"].class_versions == {"dev/arena/test/Hello.class": 52}
    assert outcome.sides["elide"].class_versions == {"dev/arena/test/Hello.class": 61}
    assert outcome.verdict.verdict == "not_comparable" and outcome.verdict.winner is None
    assert outcome.verdict.parity["versionMismatches"] == 1
