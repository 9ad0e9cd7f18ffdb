"""Failed builds get a named cause from their output's signature."""

import pytest

from workers.engine.diagnosis import explain

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
            "the JDK cannot build this project's Java level: Source option 5 is no longer "
            "supported. Use 7 or later.",
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
            "the project's enforcer rule refuses this JDK: Detected JDK "
            "/usr/lib/jvm/temurin-25-jdk-amd64 is version 25.0.3 which is not in the allowed "
            "range [17,22).",
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
