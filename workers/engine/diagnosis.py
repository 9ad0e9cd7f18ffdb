"""Named causes for failed builds, read from the end of their output.

"The build exited with code 1" tells a visitor nothing; the common reasons a real repository
fails here have recognisable signatures (a wrapper that cannot download its distribution, a
JDK too new or too old for the project, a Maven older than the project requires, Maven Central
unreachable). The first matching rule names the cause; unknown failures stay unnamed.
"""

import re

TAIL_CHARS = 64 * 1024
_NETWORK = r"java\.net\.(\w+Exception)|javax\.net\.ssl\.(\w+Exception)"
_RULES = (
    (
        re.compile(r"Downloading(?: from:)? (https?://([^/\s]+)/\S+)[\s\S]*?(?:" + _NETWORK + r")"),
        "the build tool's wrapper could not download its distribution {1} from {2} ({3}{4}): "
        "that host is not reachable from this machine",
        lambda m: ("", m.group(1), m.group(2), m.group(3) or "", m.group(4) or ""),
    ),
    (
        re.compile(r"Rule \d+: \S*RequireMavenVersion failed[^\n]*\n?([^\n]*)"),
        "the project requires a newer Maven than the one used: {1}",
        lambda m: ("", m.group(1).strip()[:200]),
    ),
    (
        re.compile(r"The plugin (\S+) requires Maven version (\S+)"),
        "the project's plugin {1} requires Maven {2} or newer",
        lambda m: ("", m.group(1), m.group(2)),
    ),
    (
        re.compile(r"Rule \d+: \S*RequireJavaVersion failed[^\n]*\n?(?:\[ERROR\] )?([^\n]*)"),
        "the project's enforcer rule refuses this JDK: {1}",
        lambda m: ("", m.group(1).strip()[:200]),
    ),
    (
        re.compile(
            r"((?:Source|Target) option \S+ is no longer supported[^\n]*"
            r"|invalid (?:target|source) release: \S+"
            r"|release version \S+ not supported"
            r"|Unsupported class file major version \d+)"
        ),
        "the JDK cannot build this project's Java level: {1}",
        lambda m: ("", m.group(1).strip()[:200]),
    ),
    (
        re.compile(r"(Could not (?:transfer|resolve) artifact [^\n]{0,300})"),
        "a dependency could not be downloaded: {1}",
        lambda m: ("", m.group(1).strip()[:300]),
    ),
    (
        re.compile(r"java\.net\.UnknownHostException: ([A-Za-z0-9.-]{1,200})"),
        "the build needs {1}, which is not reachable from this machine",
        lambda m: ("", m.group(1)),
    ),
)


def explain(output_tail):
    """The named cause of a failure, or "" when no rule matches."""
    text = output_tail[-TAIL_CHARS:]
    for pattern, template, groups in _RULES:
        match = pattern.search(text)
        if match:
            return template.format(*groups(match))
    return ""
