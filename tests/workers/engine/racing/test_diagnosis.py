"""Failed builds get a named cause from their output's signature."""

import subprocess

import pytest

from workers.engine.racing.diagnosis import exit_failure, explain
from workers.engine.tools.jdk import installed_jdks

GRADLE_WRAPPER = """Downloading https://services.gradle.org/distributions/gradle-9.2.1-bin.zip

Exception in thread "main" java.net.UnknownHostException: services.gradle.org
\tat java.base/sun.nio.ch.NioSocketImpl.connect(NioSocketImpl.java:572)
\tat org.gradle.wrapper.Install.forceFetch(SourceFile:2)
"""


@pytest.mark.parametrize(
    ("output", "cause"),
    [
        (
            GRADLE_WRAPPER,
            "the build tool's wrapper could not download its distribution "
            "https://services.gradle.org/distributions/gradle-9.2.1-bin.zip from "
            "services.gradle.org (UnknownHostException): that host is not reachable from this "
            "machine",
        ),
        (
            "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.13.0"
            ":compile: Compilation failure\n[ERROR] Source option 5 is no longer supported. "
            "Use 7 or later.\n",
            "JDK mismatch: this JDK no longer compiles Java 5: the project needs an older JDK "
            "that still does",
        ),
        (
            "[ERROR] Failed to execute goal on project mybatis: Could not resolve dependencies "
            "for project org.mybatis:mybatis:jar:3.6.0-SNAPSHOT\n[ERROR] dependency: "
            "com.github.hazendaz.catch-exception:catch-exception:jar:2.4.0 (test)\n[ERROR] \t"
            "Could not find artifact com.github.hazendaz.catch-exception:catch-exception:jar:"
            "2.4.0 in central (https://repo.maven.apache.org/maven2)\n",
            "a dependency is not in the Maven repository: com.github.hazendaz.catch-exception:"
            "catch-exception:jar:2.4.0 (not found in central, https://repo.maven.apache.org/maven2)",
        ),
        (
            "[WARNING] Rule 0: org.apache.maven.enforcer.rules.version.RequireMavenVersion "
            "failed with message:\nDetected Maven Version: 3.8.7 is not in the allowed range "
            "[3.9.0,).\n",
            "the project requires a newer Maven than the one used: Detected Maven Version: "
            "3.8.7 is not in the allowed range [3.9.0,).",
        ),
        (
            "[ERROR] Failed to execute goal io.github.ascopes:protobuf-maven-plugin:5.1.7:"
            "generate-test (default) on project proto: The plugin "
            "io.github.ascopes:protobuf-maven-plugin:5.1.7 requires Maven version 3.9.6 -> "
            "[Help 1]\n",
            "the project's plugin io.github.ascopes:protobuf-maven-plugin:5.1.7 requires Maven "
            "3.9.6 or newer",
        ),
        (
            "[ERROR] Rule 1: org.apache.maven.enforcer.rules.version.RequireJavaVersion failed "
            "with message:\n[ERROR] Detected JDK /usr/lib/jvm/temurin-25-jdk-amd64 is version "
            "25.0.3 which is not in the allowed range [17,22).\n",
            "JDK mismatch: the project's enforcer rule refuses this JDK: Detected JDK "
            "/usr/lib/jvm/temurin-25-jdk-amd64 is version 25.0.3 which is not in the allowed "
            "range [17,22); it needs a JDK in [17,22)",
        ),
        (
            # javapoet: error-prone's javac 9 reading JDK 17's class files.
            "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0"
            ":compile\n[ERROR] bad class file: /modules/java.base/java/lang/Object.class\n"
            "    class file has wrong version 61.0, should be 53.0\n",
            "JDK mismatch: a tool of the build reads class files up to Java 9 and was given "
            "Java 17's (class file has wrong version 61.0, should be 53.0): the project needs "
            "JDK 9",
        ),
        (
            "[ERROR] Fatal error compiling: error: release version 99 not supported\n",
            "JDK mismatch: this JDK cannot compile for Java 99: the project needs JDK 99 or newer",
        ),
        (
            "error: --release 7 not supported\n",
            "JDK mismatch: this JDK no longer compiles Java 7: the project needs an older JDK "
            "that still does",
        ),
        (
            "[ERROR] error: Error fetching URL: https://commons.apache.org/proper/commons-io/"
            "apidocs/ (java.net.UnknownHostException: commons.apache.org)\n",
            "the build needs commons.apache.org, which is not reachable from this machine",
        ),
        ("[ERROR] COMPILATION ERROR : cannot find symbol\n", ""),
        ("Downloading from central: https://repo.maven.apache.org/a.pom\nBUILD FAILURE\n", ""),
    ],
)
def test_known_failures_are_named_and_others_left_alone(output, cause):
    assert explain(output) == cause


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        (GRADLE_WRAPPER, "infrastructure"),
        ("bwrap: Creating new namespace failed: Operation not permitted\n", "infrastructure"),
        ("[ERROR] The plugin a:b:1.0 requires Maven version 3.9.6 -> [Help 1]\n", "infrastructure"),
        ("[ERROR] Unsupported class file major version 69\n", "infrastructure"),
        (
            "[ERROR] Could not transfer artifact a:b:pom:1.0 from/to central "
            "(https://repo.maven.apache.org/maven2): repo.maven.apache.org: Unknown host\n",
            "infrastructure",
        ),
        ("[ERROR] Could not resolve artifact a:b:jar:9.9 in central: not found\n", "build"),
        (
            "[ERROR] \tCould not find artifact a:b:jar:2.4.0 in central "
            "(https://repo.maven.apache.org/maven2)\n",
            "build",
        ),
        ("[ERROR] COMPILATION ERROR : cannot find symbol\n", "build"),
        ("echo bwrap: in the middle of a line\n", "build"),
    ],
)
def test_the_workers_own_environment_is_an_infrastructure_error_the_project_a_build_failure(
    output, kind
):
    """An infrastructure error makes the race void; a build failure is the project's."""
    failure = exit_failure("the build exited", 1, output)
    assert failure.kind == kind and str(failure).startswith("the build exited with code 1")


@pytest.mark.parametrize(
    "line",
    [
        "Unsupported class file major version {n}",
        "class file has wrong version {n}.0, should be 61.0",
        "invalid target release: {n}",
        "Source option {n} is no longer supported",
    ],
)
def test_a_version_of_thousands_of_digits_is_no_cause_and_no_crash(line):
    """A hostile build prints a version int() refuses (over 4,300 digits): no cause is named."""
    output = "[ERROR] " + line.format(n="6" * 5000) + "\n"
    assert explain(output) == ""
    failure = exit_failure("the build exited", 1, output)
    assert (str(failure), failure.kind) == ("the build exited with code 1", "build")


def test_a_jvm_option_the_jdk_does_not_know_is_a_jdk_mismatch():
    """What JDK 17 really prints for a .mvn/jvm.config option of JDK 23 (Maven passes the
    file's options to java): a JDK mismatch, the worker's environment."""
    java = installed_jdks()[0]
    if java.major >= 23:
        pytest.fail(f"this test needs a JDK older than 23 installed, found {java.describe()}")
    started = subprocess.run(
        [f"{java.home}/bin/java", "--sun-misc-unsafe-memory-access=allow", "-version"],
        capture_output=True,
        text=True,
    )
    assert started.returncode != 0
    failure = exit_failure("the build exited", 1, started.stdout + started.stderr)
    assert failure.kind == "infrastructure"
    assert (
        "JDK mismatch: this JVM does not know the option --sun-misc-unsafe-memory-access=allow"
        in str(failure)
    ), str(failure)
