"""Which JDK builds a project: what the project asks for, what is installed, and the choice.

The request is read from the project's own files, first found wins:
    .java-version                 "17", "21.0.2", "temurin-21"
    .sdkmanrc                     java=21.0.2-tem
    pom.xml                       maven.compiler.release, .source, .target, java.version, then
                                  the maven-compiler-plugin's <release>/<source>/<target>
                                  (${property} references resolved from the pom's properties)
    build.gradle(.kts)            toolchain { languageVersion = JavaLanguageVersion.of(17) }
Options in `.mvn/jvm.config` that only newer JVMs know (JVM_OPTIONS_SINCE) raise that request
to the JDK that introduced them: Maven starts its JVM with them, and an older JVM refuses to
start. "1.8" means 8. Files are read without following symlinks and only up to 1 MB; pom.xml is
parsed with defusedxml (no entities, no external references).

Installed JDKs are the homes listed in ARENA_JDKS (comma-separated), or else every JDK found
under /usr/lib/jvm (a directory with java and javac in its bin directory and a `release`
file naming JAVA_VERSION).

The rule: the lowest installed JDK whose major version is at least the requested one (a newer
javac compiles for an older release; the lowest keeps closest to what the project tested)
and that every maven-enforcer-plugin `requireJavaVersion` range allows (upper bounds too:
`[1.8,9)` admits only a JDK 8). With no request, ARENA_JAVA_HOME when set (and allowed), else
the lowest allowed installed JDK. When no installed JDK fits the side fails with a message
naming the request or range, where it came from, and what is installed.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from workers.engine.isolation.safefiles import read_text
from workers.engine.tools.pom import read_pom, text_of

JVM_DIR = Path("/usr/lib/jvm")
# At most 9 digits a number: a hostile file may hold thousands, which int() refuses.
_VERSION_RE = re.compile(r"(\d{1,9})(?:\.(\d{1,9}))?")
_JAVA_VERSION_RE = re.compile(r'^JAVA_VERSION="([^"]+)"', re.MULTILINE)
_TOOLCHAIN_RE = re.compile(
    r"languageVersion\s*(?:=|\.set\s*\()\s*JavaLanguageVersion\.of\(\s*['\"]?(\d{1,3})"
)
_SDKMAN_RE = re.compile(r"^\s*java\s*=\s*(\S+)", re.MULTILINE)
# JVM options and the JDK that introduced them (JEPs 471, 472, 450, 483): in .mvn/jvm.config
# they stop any older JVM from starting ("Unrecognized option").
JVM_OPTIONS_SINCE = {
    "--sun-misc-unsafe-memory-access": 23,
    "--illegal-native-access": 24,
    "-XX:+UseCompactObjectHeaders": 24,
    "-XX:AOTCache": 24,
    "-XX:AOTMode": 24,
}
# java.version: the property Spring Boot's parent passes to the compiler.
POM_PROPERTIES = (
    "maven.compiler.release",
    "maven.compiler.source",
    "maven.compiler.target",
    "java.version",
)
COMPILER_OPTIONS = ("release", "source", "target")


@dataclass(frozen=True)
class Jdk:
    home: str
    major: int
    version: str

    def describe(self):
        return f"JDK {self.version} ({self.home})"


@dataclass(frozen=True)
class JdkRequest:
    major: int
    source: str  # where it came from, e.g. "maven.compiler.release in pom.xml"


@dataclass(frozen=True)
class JdkChoice:
    jdk: Jdk | None
    request: JdkRequest | None
    error: str = ""
    # The enforcer's requireJavaVersion ranges the choice honoured (versions.Requirement).
    ranges: tuple = ()

    def describe(self):
        if self.jdk is None:
            return self.error
        asked = (
            f"the project asks for Java {self.request.major} ({self.request.source})"
            if self.request
            else "the project names no Java version"
        )
        if self.ranges:
            asked += "; it accepts " + ", ".join(r.describe() for r in self.ranges)
        return f"{asked}: using {self.jdk.describe()}"


def major_version(text):
    """8 for "1.8" and "1.8.0_392", 17 for "17", "17.0.2-tem", "temurin-17"; None otherwise."""
    match = _VERSION_RE.search(str(text or ""))
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    return major if 1 <= major <= 999 else None


# --- installed JDKs ---------------------------------------------------------------------------
def probe_jdk(home):
    """A Jdk for a JDK home (java and javac in its bin directory, a release file), or None."""
    home = Path(home)
    if not (home / "bin" / "java").is_file() or not (home / "bin" / "javac").is_file():
        return None
    try:
        release = (home / "release").read_text(errors="replace")[:65536]
    except OSError:
        return None
    match = _JAVA_VERSION_RE.search(release)
    major = major_version(match.group(1)) if match else None
    if major is None:
        return None
    return Jdk(home=str(home), major=major, version=match.group(1))


def installed_jdks(listed=(), jvm_dir=JVM_DIR):
    """The JDKs listed (ARENA_JDKS) or discovered under `jvm_dir`, one per real directory,
    lowest major version first."""
    if listed:
        candidates = [Path(home) for home in listed]
    else:
        try:
            candidates = sorted(path for path in Path(jvm_dir).iterdir() if not path.is_symlink())
        except OSError:
            candidates = []
    jdks = {}
    for home in candidates:
        jdk = probe_jdk(home)
        if jdk is not None:
            jdks.setdefault(os.path.realpath(home), jdk)
    return sorted(jdks.values(), key=lambda jdk: (jdk.major, jdk.version, jdk.home))


# --- what the project asks for -----------------------------------------------------------------
def requested_jdk(src):
    """The JdkRequest of the project checked out at `src`, or None when it names none."""
    for reader in (_from_java_version, _from_sdkmanrc, _from_pom, _from_gradle):
        request = reader(src)
        if request is not None:
            return request
    return None


def _from_java_version(src):
    text = read_text(src, ".java-version", 4096)
    major = major_version(text.strip().splitlines()[0]) if text and text.strip() else None
    return JdkRequest(major, ".java-version") if major else None


def _from_sdkmanrc(src):
    text = read_text(src, ".sdkmanrc", 65536)
    match = _SDKMAN_RE.search(text or "")
    major = major_version(match.group(1)) if match else None
    return JdkRequest(major, "java in .sdkmanrc") if major else None


def _from_pom(src):
    pom = read_pom(src)
    if pom is None:
        return None

    def resolve(value):
        value = pom.resolve(value)
        return major_version(value) if value else None

    for name in POM_PROPERTIES:
        major = resolve(pom.properties.get(name))
        if major:
            return JdkRequest(major, f"{name} in pom.xml")
    for plugin in pom.plugins("maven-compiler-plugin"):
        for option in COMPILER_OPTIONS:
            major = resolve(text_of(plugin, ("configuration", option)))
            if major:
                return JdkRequest(major, f"maven-compiler-plugin <{option}> in pom.xml")
    return None


def jvm_config_floor(src):
    """The JdkRequest that `.mvn/jvm.config`'s options impose, or None."""
    options = (read_text(src, ".mvn/jvm.config", 65536) or "").split()
    needs = [
        (since, name)
        for option in options
        for name, since in JVM_OPTIONS_SINCE.items()
        if option == name or option.startswith((name + "=", name + ":"))
    ]
    if not needs:
        return None
    since, name = max(needs)
    return JdkRequest(since, f"{name} in .mvn/jvm.config (JVM {since} or newer)")


def strictest(*requests):
    """The request asking for the highest JDK, or None when none asks."""
    asked = [request for request in requests if request is not None]
    return max(asked, key=lambda request: request.major) if asked else None


def java_ranges(src):
    """The maven-enforcer-plugin requireJavaVersion ranges of the project at `src`."""
    pom = read_pom(src)
    return tuple(pom.enforcer_requirements("requireJavaVersion", java_version=True)) if pom else ()


def _from_gradle(src):
    for name in ("build.gradle.kts", "build.gradle"):
        match = _TOOLCHAIN_RE.search(read_text(src, name) or "")
        if match:
            return JdkRequest(int(match.group(1)), f"Gradle toolchain languageVersion in {name}")
    return None


# --- the choice --------------------------------------------------------------------------------
def choose_jdk(request, jdks, default_home="", ranges=()):
    """Apply the rule of this module's docstring; a JdkChoice with an error when none fits."""

    def allowed(jdk):
        return all(r.allows(jdk.version) for r in ranges)

    if request is None and default_home:
        jdk = probe_jdk(default_home) or Jdk(home=default_home, major=0, version="default")
        if not ranges or allowed(jdk):
            return JdkChoice(jdk, None, ranges=ranges)
    if request is None and not jdks:
        return JdkChoice(None, None, "no JDK is installed (ARENA_JDKS, /usr/lib/jvm)")
    minimum = request.major if request else 0
    fitting = [jdk for jdk in jdks if jdk.major >= minimum and allowed(jdk)]
    if fitting:
        return JdkChoice(fitting[0], request, ranges=ranges)
    installed = ", ".join(f"{jdk.major} ({jdk.home})" for jdk in jdks) or "none"
    asked = [f"Java {request.major} ({request.source})"] if request else []
    asked += [f"a JDK in {r.describe()}" for r in ranges]
    return JdkChoice(
        None,
        request,
        f"no installed JDK fits: the project asks for {' and '.join(asked)}; "
        f"installed JDKs: {installed}",
        ranges=ranges,
    )


def jdk_for_project(src, config):
    """The JdkChoice for the project at `src` under the engine configuration."""
    return choose_jdk(
        strictest(requested_jdk(src), jvm_config_floor(src)),
        installed_jdks(config.toolchains.jdks),
        default_home=config.toolchains.java_home,
        ranges=java_ranges(src),
    )
