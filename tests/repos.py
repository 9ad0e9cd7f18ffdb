"""Git repositories that tests create for themselves (no network needed)."""

import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Arena Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Arena Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def write_files(root, files):
    """Write `files` ({relative path: text}) under `root`, making directories; returns root."""
    root = Path(root)
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def make_git_repo(path, files, *, executable=()):
    """Create a git repository at `path` with `files` ({relative path: text}) committed."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    write_files(path, files)
    for name in files:
        if name in executable:
            (path / name).chmod(0o755)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def head_sha(repo):
    return git(repo, "rev-parse", "HEAD")


POM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.arena.test</groupId>
  <artifactId>hello</artifactId>
  <version>1.0</version>
  <packaging>jar</packaging>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
</project>
"""

HELLO_JAVA = """package dev.arena.test;

public class Hello {
    public static void main(String[] args) {
        System.out.println("Hello from the arena");
    }
}
"""


def maven_project_files():
    return {"pom.xml": POM_XML, "src/main/java/dev/arena/test/Hello.java": HELLO_JAVA}


BUILD_GRADLE = """apply plugin: 'java'

sourceCompatibility = 1.8
targetCompatibility = 1.8
"""


def gradle_project_files():
    return {"build.gradle": BUILD_GRADLE, "src/main/java/dev/arena/test/Hello.java": HELLO_JAVA}


# The start of a test project's POM, down to its version.
PROJECT_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.arena.test</groupId>
  <artifactId>{artifact}</artifactId>
  <version>1.0</version>
"""

# junit, test-scoped: the one dependency that a build of these projects downloads.
JUNIT_DEPENDENCY = """  <dependencies>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
"""

# A project that needs Maven Central: current plugins (newer than Debian's packaged ones) and
# one test-scoped dependency, so a build with an empty local repository downloads them.
CENTRAL_POM_XML = (
    PROJECT_HEAD.format(artifact="central")
    + """  <packaging>jar</packaging>
  <properties>
    <maven.compiler.release>{release}</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
"""
    + JUNIT_DEPENDENCY
    + """  <build>
    <plugins>
      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
      <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
      <plugin><artifactId>maven-jar-plugin</artifactId><version>3.4.1</version></plugin>
    </plugins>
  </build>
</project>
"""
)

GREETER_JAVA = """package dev.arena.test;

/** A class with a string literal inside a method body, for the incremental scenario. */
public class Greeter {
    public static final String NAME = "constant, not to be edited";

    public String greet(String who) {
        // a "quoted" comment is not a literal
        return "Hello, " + who;
    }
}
"""

GREETER_TEST_JAVA = """package dev.arena.test;

import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class GreeterTest {
    @Test
    public void greets() {
        assertTrue(new Greeter().greet("arena").endsWith("arena"));
    }
}
"""


def central_project_files(release=17):
    return {
        "pom.xml": CENTRAL_POM_XML.format(release=release),
        "src/main/java/dev/arena/test/Greeter.java": GREETER_JAVA,
        "src/test/java/dev/arena/test/GreeterTest.java": GREETER_TEST_JAVA,
    }
