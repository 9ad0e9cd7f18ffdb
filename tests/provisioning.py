"""Test material for provisioned build tools: a local Maven repository mirror holding a real
Maven distribution from Maven Central, Gradle distributions built by the test, and Maven
projects that build offline with Debian's packaged plugins (pinned to versions in
/usr/share/maven-repo), whichever Maven runs them."""

import hashlib
import shutil
import zipfile
from pathlib import Path

from tests.repos import POM_XML
from workers.engine.tools.toolstore import fetch

CENTRAL = "https://repo.maven.apache.org/maven2"
MAVEN_VERSION = "3.9.11"
MAVEN_PATH = "org/apache/maven/apache-maven"
OFFLINE_ARGS = ("-o", "-Dmaven.repo.local=/usr/share/maven-repo")

# The generated project (tests/repos.py) with the plugin versions Debian's offline repository
# holds pinned, so that any Maven builds it offline; {extra} takes more plugins.
OFFLINE_POM = (
    POM_XML.replace("{", "{{")
    .replace("}", "}}")
    .replace(
        "</project>",
        """  <build>
    <plugins>
      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.0</version></plugin>
      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.10.1</version></plugin>
      <plugin><artifactId>maven-surefire-plugin</artifactId><version>2.22.3</version></plugin>
      <plugin><artifactId>maven-jar-plugin</artifactId><version>3.3.0</version></plugin>
{extra}
    </plugins>
  </build>
</project>""",
    )
)

ENFORCER = """      <plugin>
        <artifactId>maven-enforcer-plugin</artifactId>
        <version>3.5.0</version>
        <executions><execution><id>enforce</id><configuration><rules>
          <requireMavenVersion><version>{maven}</version></requireMavenVersion>
          <requireJavaVersion><version>{java}</version></requireJavaVersion>
        </rules></configuration></execution></executions>
      </plugin>"""

HELLO_JAVA = """package dev.arena.test;

public class Hello {
    public static String greet() {
        return "Hello from the arena";
    }
}
"""

# A wrapper that would slow the standard side and leave a marker, if anything ran it.
RIGGED_WRAPPER = """#!/bin/sh
echo "RIGGED WRAPPER RAN" > "$HOME/rigged-wrapper-ran"
echo "RIGGED WRAPPER RAN" > rigged-wrapper-ran
sleep {seconds}
exec mvn "$@"
"""


def offline_maven_files(*, extra="", wrapper_version=None):
    files = {
        "pom.xml": OFFLINE_POM.format(extra=extra),
        "src/main/java/dev/arena/test/Hello.java": HELLO_JAVA,
    }
    if wrapper_version:
        url = f"https\\://repo.maven.apache.org/maven2/{MAVEN_PATH}/{wrapper_version}/"
        files[".mvn/wrapper/maven-wrapper.properties"] = (
            f"wrapperVersion=3.3.2\ndistributionType=only-script\n"
            f"distributionUrl={url}apache-maven-{wrapper_version}-bin.zip\n"
        )
    return files


def maven_mirror(root, *, source=CENTRAL, version=MAVEN_VERSION):
    """A Maven repository directory holding apache-maven `version` (tarball and .sha512) and
    the apache-maven maven-metadata.xml, copied from `source` (Maven Central)."""
    directory = Path(root) / MAVEN_PATH / version
    directory.mkdir(parents=True)
    name = f"apache-maven-{version}-bin.tar.gz"
    for file_name in (name, f"{name}.sha512"):
        fetch(f"{source}/{MAVEN_PATH}/{version}/{file_name}", directory / file_name)
    fetch(f"{source}/{MAVEN_PATH}/maven-metadata.xml", directory.parent / "maven-metadata.xml")
    return Path(root)


def copy_mirror(mirror, target):
    shutil.copytree(mirror, target)
    return Path(target)


def tarball(mirror, version=MAVEN_VERSION):
    return Path(mirror) / MAVEN_PATH / version / f"apache-maven-{version}-bin.tar.gz"


GRADLE_SCRIPT = """#!/bin/sh
# A stand-in Gradle distribution: says its version, "builds" a jar like gradle build would.
case "$1" in
  -v|--version) echo "Gradle {version}"; exit 0;;
esac
echo "stand-in gradle {version}: $*"
mkdir -p build/libs
cp "${{0%/*}}/../lib/app.jar" build/libs/app.jar
echo "BUILD SUCCESSFUL"
"""


def gradle_distribution(directory, version, *, jar, symlink_to=None):
    """gradle-<version>-bin.zip in `directory` (its gradle command a shell script, and the jar it
    copies) and its .sha256 beside it; returns (path, sha256)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"gradle-{version}-bin.zip"
    top = f"gradle-{version}"
    with zipfile.ZipFile(path, "w") as archive:
        script = zipfile.ZipInfo(f"{top}/bin/gradle")
        script.external_attr = (0o100755) << 16
        archive.writestr(script, GRADLE_SCRIPT.format(version=version))
        archive.write(jar, f"{top}/lib/app.jar")
        if symlink_to:
            link = zipfile.ZipInfo(f"{top}/lib/escape")
            link.external_attr = (0o120777) << 16
            archive.writestr(link, symlink_to)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / f"{path.name}.sha256").write_text(digest)
    return path, digest


def gradle_wrapper_properties(version, sha256=""):
    text = (
        "distributionBase=GRADLE_USER_HOME\ndistributionPath=wrapper/dists\n"
        f"distributionUrl=https\\://services.gradle.org/distributions/gradle-{version}-bin.zip\n"
    )
    return text + (f"distributionSha256Sum={sha256}\n" if sha256 else "")
