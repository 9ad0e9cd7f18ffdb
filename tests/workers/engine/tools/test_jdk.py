"""JDK choice: what a project asks for, what is installed, the rule, and a clear failure."""

import os

import pytest

from tests.repos import central_project_files, make_git_repo, write_files
from workers.engine import EngineConfig, RaceSpec, run_race
from workers.engine.tools.jdk import (
    JdkRequest,
    choose_jdk,
    installed_jdks,
    jvm_config_floor,
    major_version,
    probe_jdk,
    requested_jdk,
    strictest,
)


def pom(properties="", plugins=""):
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<properties>{properties}</properties><build><plugins>{plugins}</plugins></build>"
        "</project>"
    )


@pytest.mark.parametrize(
    ("text", "major"),
    [("1.8", 8), ("1.8.0_392", 8), ("17", 17), ("21.0.2-tem", 21), ("temurin-25", 25)],
)
def test_major_version_reads_the_usual_spellings(text, major):
    assert major_version(text) == major


@pytest.mark.parametrize("text", ["9" * 5000, "1." + "8" * 5000, "java=" + "1" * 5000])
def test_a_version_of_thousands_of_digits_is_no_version(text):
    """A hostile .java-version or pom.xml names a number int() refuses: no version, no crash."""
    assert major_version(text) is None


@pytest.mark.parametrize(
    ("files", "major", "source"),
    [
        (
            {"pom.xml": pom("<maven.compiler.release>21</maven.compiler.release>")},
            21,
            "maven.compiler.release in pom.xml",
        ),
        (
            {"pom.xml": pom("<maven.compiler.source>1.8</maven.compiler.source>")},
            8,
            "maven.compiler.source in pom.xml",
        ),
        (
            {
                "pom.xml": pom(
                    "<project.jdk>11</project.jdk>",
                    "<plugin><artifactId>maven-compiler-plugin</artifactId>"
                    "<configuration><release>${project.jdk}</release></configuration></plugin>",
                )
            },
            11,
            "maven-compiler-plugin <release> in pom.xml",
        ),
        ({".java-version": "21.0.2\n", "pom.xml": pom()}, 21, ".java-version"),
        ({".sdkmanrc": "# sdk\njava=25.0.1-tem\n"}, 25, "java in .sdkmanrc"),
        (
            {
                "build.gradle.kts": "java {\n toolchain {\n"
                "  languageVersion.set(JavaLanguageVersion.of(21))\n }\n}\n"
            },
            21,
            "Gradle toolchain languageVersion in build.gradle.kts",
        ),
        (
            {"build.gradle": "java { toolchain { languageVersion = JavaLanguageVersion.of(17) } }"},
            17,
            "Gradle toolchain languageVersion in build.gradle",
        ),
    ],
)
def test_the_request_is_read_from_the_projects_files(tmp_path, files, major, source):
    assert requested_jdk(write_files(tmp_path, files)) == JdkRequest(major, source)


def test_hostile_build_files_are_not_followed_parsed_or_expanded(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text(pom("<maven.compiler.release>21</maven.compiler.release>"))
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(secret, project / "pom.xml")
    os.symlink(secret, project / ".java-version")
    assert requested_jdk(project) is None  # symlinks are never followed
    (project / "pom.xml").unlink()
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "17">]>'
        "<project><properties><maven.compiler.release>&a;</maven.compiler.release>"
        "</properties></project>"
    )
    (project / "pom.xml").write_text(bomb)
    assert requested_jdk(project) is None  # no DTDs, no entities
    (project / "pom.xml").write_text(
        pom("<maven.compiler.release>21</maven.compiler.release>") + " " * (1024 * 1024)
    )
    assert requested_jdk(project) is None  # larger than 1 MB: not read


def test_installed_jdks_are_found_under_usr_lib_jvm():
    jdks = installed_jdks()
    majors = [jdk.major for jdk in jdks]
    assert majors == sorted(majors) and len(set(jdk.home for jdk in jdks)) == len(jdks)
    assert 17 in majors, jdks  # Debian's openjdk-17 on this project's machines
    assert all(os.path.isfile(os.path.join(jdk.home, "bin", "javac")) for jdk in jdks)


def fake_jdk(root, name, version):
    home = root / name
    write_files(
        home,
        {
            "release": f'JAVA_VERSION="{version}"\n',
            os.path.join("bin", "java"): "",
            os.path.join("bin", "javac"): "",
        },
    )
    return str(home)


def test_the_lowest_installed_jdk_at_or_above_the_request_is_chosen(tmp_path):
    homes = [fake_jdk(tmp_path, n, v) for n, v in (("j25", "25.0.1"), ("j17", "17.0.9"))]
    jdks = installed_jdks(homes)
    assert [jdk.major for jdk in jdks] == [17, 25]
    assert choose_jdk(JdkRequest(8, "x"), jdks).jdk.major == 17
    assert choose_jdk(JdkRequest(17, "x"), jdks).jdk.major == 17
    assert choose_jdk(JdkRequest(21, "x"), jdks).jdk.major == 25
    assert choose_jdk(None, jdks).jdk.major == 17
    assert choose_jdk(None, jdks, default_home=homes[0]).jdk.major == 25
    refused = choose_jdk(JdkRequest(99, "maven.compiler.release in pom.xml"), jdks)
    assert refused.jdk is None
    assert refused.error == (
        "no installed JDK fits: the project asks for Java 99 (maven.compiler.release in "
        f"pom.xml); installed JDKs: 17 ({homes[1]}), 25 ({homes[0]})"
    )
    assert probe_jdk(tmp_path) is None


def test_a_project_asking_for_a_jdk_the_host_lacks_fails_with_a_clear_message(tmp_path):
    repo = make_git_repo(tmp_path / "future", central_project_files(release=99))
    config = EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        stores__cache_root=tmp_path / "caches"
    )
    spec = RaceSpec(str(repo), cache="cold", elide_cmd=["mvn", "-B", "-T", "2", "package"])
    outcome = run_race(spec, config)
    assert outcome.status == "completed" and outcome.verdict.verdict == "void"
    standard, elide = outcome.sides["standard"], outcome.sides["elide"]
    for side in (standard, elide):
        assert side.status == "failure" and side.run_times_ms == []
        assert side.error_kind == "infrastructure"
    assert standard.error.startswith(
        "no installed JDK fits: the project asks for Java 99 (maven.compiler.release in "
        "pom.xml); installed JDKs: 17 (/usr/lib/jvm/"
    ), standard.error
    # The race is void once one side cannot run: the other is never built.
    assert elide.error == "not run: the race is void because the standard side could not run"
    assert outcome.verdict.void_reason == standard.error


MISMATCHED_MVN = """#!/bin/sh
# Stands in for a Maven whose error-prone javac 9 reads the JDK's class files.
case "$1" in -v) echo "Apache Maven 3.9.11 (stand-in)"; exit 0;; esac
echo "[ERROR] bad class file: /modules/java.base/java/lang/Object.class"
echo "    class file has wrong version 61.0, should be 53.0"
echo "[INFO] BUILD FAILURE"
exit 1
"""


def test_a_jdk_mismatch_in_the_output_is_named_and_makes_the_race_void(tmp_path):
    mvn = tmp_path / "mvn-bin" / "mvn"
    mvn.parent.mkdir()
    mvn.write_text(MISMATCHED_MVN)
    mvn.chmod(0o755)
    repo = make_git_repo(tmp_path / "javapoet-like", central_project_files())
    config = EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        toolchains__mvn=str(mvn)
    )
    outcome = run_race(RaceSpec(str(repo), cache="cold", elide_cmd=["true"]), config)
    standard = outcome.sides["standard"]
    assert standard.error_kind == "infrastructure"
    assert standard.error == (
        "the build exited with code 1: JDK mismatch: a tool of the build reads class files up "
        "to Java 9 and was given Java 17's (class file has wrong version 61.0, should be "
        "53.0): the project needs JDK 9"
    )
    assert outcome.verdict.verdict == "void" and outcome.verdict.void_reason == standard.error


def test_a_jvm_option_in_mvn_jvm_config_raises_the_request_to_the_jdk_that_knows_it(tmp_path):
    homes = [fake_jdk(tmp_path, n, v) for n, v in (("j25", "25.0.1"), ("j17", "17.0.9"))]
    jdks = installed_jdks(homes)
    release_8 = pom("<maven.compiler.release>8</maven.compiler.release>")
    plain = tmp_path / "plain"
    write_files(plain, {"pom.xml": release_8, ".mvn/jvm.config": "-Xmx1g\n"})
    assert jvm_config_floor(plain) is None
    assert (
        choose_jdk(strictest(requested_jdk(plain), jvm_config_floor(plain)), jdks).jdk.major == 17
    )
    unsafe = tmp_path / "unsafe"
    write_files(
        unsafe,
        {"pom.xml": release_8, ".mvn/jvm.config": "-Xss8m --sun-misc-unsafe-memory-access=allow\n"},
    )
    floor = jvm_config_floor(unsafe)
    assert floor == JdkRequest(
        23, "--sun-misc-unsafe-memory-access in .mvn/jvm.config (JVM 23 or newer)"
    )
    chosen = choose_jdk(strictest(requested_jdk(unsafe), floor), jdks)
    assert chosen.jdk.major == 25 and chosen.request == floor
