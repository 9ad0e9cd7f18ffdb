"""Named causes for failed builds, read from the end of their output.

"The build exited with code 1" tells a visitor nothing; the common reasons a real repository
fails here have recognisable signatures (a wrapper that cannot download its distribution, a
JDK too new or too old for the project, a Maven older than the project requires, Maven Central
unreachable). The first matching rule names the cause; unknown failures stay unnamed.

Most of these causes are the worker's own environment, not the project: its Maven too old,
its JDKs unfit for the project's Java level, a host it cannot reach, a sandbox that refused
the build. Such a failure makes the race void (an infrastructure error of that side), never a
forfeit the other side would win. Output is the build's, so a hostile build can print these
signatures; the most it gains is a void race, which is never a result.
"""

import re
from typing import NamedTuple

from workers.engine.failures import BuildFailure, EnvironmentFailure

TAIL_CHARS = 64 * 1024
_NETWORK = r"java\.net\.(\w+Exception)|javax\.net\.ssl\.(\w+Exception)"
# A download that failed because the network did, not because the artifact does not exist.
_NETWORK_FAILURE = re.compile(
    _NETWORK + r"|Unknown host|Temporary failure in name resolution|Network is unreachable"
    r"|No route to host|Connection refused|Connect(?:ion)? timed out"
)
ENVIRONMENT = True  # the worker's own environment: the side could not run (void race)
PROJECT = False  # the project's own failure: a failed build


def _network_failed(text):
    return bool(_NETWORK_FAILURE.search(text))


# The JDK does not fit the project: named "JDK mismatch", with the JDK the project needs.
# Version numbers of at most 9 digits: a hostile build prints thousands, which int() refuses.
_JDK_MISMATCH = re.compile(
    r"Rule \d+: \S*RequireJavaVersion failed[^\n]*\n?(?:\[ERROR\] )?(?P<enforcer>[^\n]*)"
    r"|class file has wrong version (?P<read>\d{1,9})\.0, should be (?P<reader>\d{1,9})\.0"
    r"|(?:release version|--release) (?:1\.)?(?P<release>\d{1,9})(?!\d) not supported"
    r"|invalid (?:target|source) release: (?:1\.)?(?P<target>\d{1,9})(?!\d)"
    r"|(?:Source|Target) option (?:1\.)?(?P<dropped>\d{1,9})(?!\d) is no longer supported"
    r"|Unsupported class file major version (?P<major>\d{1,9})(?!\d)"
    r"|Unrecognized (?:VM )?option:? '?(?P<option>[-+:=\w]{1,100})'?"
    r"(?=[\s\S]{0,300}Could not create the Java Virtual Machine)"
)
_ALLOWED_RANGE = re.compile(r"allowed range (\S{1,60})$")
_CLASS_FILE_OFFSET = 44  # class file major version 61 is Java 17
# JDK 20 and later compile for Java 8 at the oldest: an older release asks for an older JDK.
OLDEST_RELEASE_OF_CURRENT_JDKS = 8


def jdk_mismatch(match):
    """The cause of a _JDK_MISMATCH match, naming the JDK the project needs."""
    found = {k: v for k, v in match.groupdict().items() if v is not None}
    if "enforcer" in found:
        line = found["enforcer"].strip()[:200].rstrip(".")
        allowed = _ALLOWED_RANGE.search(line)
        needs = f"a JDK in {allowed.group(1)}" if allowed else "another JDK"
        return (
            f"JDK mismatch: the project's enforcer rule refuses this JDK: {line}; it needs {needs}"
        )
    if "option" in found:
        return (
            f"JDK mismatch: this JVM does not know the option {found['option']} (from the "
            "project's .mvn/jvm.config or MAVEN_OPTS) and cannot start: the project needs a "
            "newer JDK"
        )
    if "read" in found:
        read, reader = (int(found[k]) - _CLASS_FILE_OFFSET for k in ("read", "reader"))
        return (
            f"JDK mismatch: a tool of the build reads class files up to Java {reader} and was "
            f"given Java {read}'s (class file has wrong version {found['read']}.0, should be "
            f"{found['reader']}.0): the project needs JDK {reader}"
        )
    if "release" in found or "target" in found:
        level = found.get("release") or found["target"]
        if int(level) < OLDEST_RELEASE_OF_CURRENT_JDKS:
            found["dropped"] = level
        else:
            return (
                f"JDK mismatch: this JDK cannot compile for Java {level}: "
                f"the project needs JDK {level} or newer"
            )
    if "dropped" in found:
        return (
            f"JDK mismatch: this JDK no longer compiles Java {found['dropped']}: the project "
            "needs an older JDK that still does"
        )
    java = int(found["major"]) - _CLASS_FILE_OFFSET
    return (
        f"JDK mismatch: a tool of the build cannot read Java {java} class files (major "
        f"version {found['major']}): the project needs a JDK older than {java}"
    )


# (pattern, cause template, its values, ENVIRONMENT / PROJECT or a test of the whole tail)
_RULES = (
    (
        re.compile(r"Downloading(?: from:)? (https?://([^/\s]+)/\S+)[\s\S]*?(?:" + _NETWORK + r")"),
        "the build tool's wrapper could not download its distribution {1} from {2} ({3}{4}): "
        "that host is not reachable from this machine",
        lambda m: ("", m.group(1), m.group(2), m.group(3) or "", m.group(4) or ""),
        ENVIRONMENT,
    ),
    (
        re.compile(r"^bwrap: ([^\n]{1,200})", re.MULTILINE),
        "the sandbox refused to start the build: {1}",
        lambda m: ("", m.group(1).strip()),
        ENVIRONMENT,
    ),
    (
        re.compile(r"Rule \d+: \S*RequireMavenVersion failed[^\n]*\n?([^\n]*)"),
        "the project requires a newer Maven than the one used: {1}",
        lambda m: ("", m.group(1).strip()[:200]),
        ENVIRONMENT,
    ),
    (
        re.compile(r"The plugin (\S+) requires Maven version (\S+)"),
        "the project's plugin {1} requires Maven {2} or newer",
        lambda m: ("", m.group(1), m.group(2)),
        ENVIRONMENT,
    ),
    (_JDK_MISMATCH, "{1}", lambda m: ("", jdk_mismatch(m)), ENVIRONMENT),
    (
        re.compile(r"(Could not (?:transfer|resolve) artifact [^\n]{0,300})"),
        "a dependency could not be downloaded: {1}",
        lambda m: ("", m.group(1).strip()[:300]),
        _network_failed,
    ),
    (
        re.compile(
            r"Could not find artifact (\S{1,200}) in (\S{1,100}) \((https?://[^)\s]{1,200})\)"
        ),
        "a dependency is not in the Maven repository: {1} (not found in {2}, {3})",
        lambda m: ("", m.group(1), m.group(2), m.group(3)),
        PROJECT,
    ),
    (
        re.compile(r"java\.net\.UnknownHostException: ([A-Za-z0-9.-]{1,200})"),
        "the build needs {1}, which is not reachable from this machine",
        lambda m: ("", m.group(1)),
        ENVIRONMENT,
    ),
)


class Diagnosis(NamedTuple):
    cause: str  # "" when no rule matched
    environment: bool  # the worker's own environment failed the build, not the project


def diagnose(output_tail):
    """The named cause of a failure and whether it lies with the worker's environment."""
    text = output_tail[-TAIL_CHARS:]
    for pattern, template, groups, environment in _RULES:
        match = pattern.search(text)
        if match:
            if callable(environment):
                environment = environment(text)
            return Diagnosis(template.format(*groups(match)), environment)
    return Diagnosis("", PROJECT)


def explain(output_tail):
    """The named cause of a failure, or "" when no rule matches."""
    return diagnose(output_tail).cause


def exit_failure(what, exit_code, output_tail):
    """The failure (for the caller to raise) of a build that exited non-zero: "<what> with
    code N: <cause>", an EnvironmentFailure when the cause is the worker's environment, else a
    BuildFailure."""
    cause, environment = diagnose(output_tail)
    message = f"{what} with code {exit_code}" + (f": {cause}" if cause else "")
    return EnvironmentFailure(message) if environment else BuildFailure(message)
