"""Toolchain versions as suites read them: the number in a probe's version line, the set of
versions a worker reports, and the key that makes a suite run once per set."""

import re

VERSIONED_TOOLS = ("elide", "mvn", "java")
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[-.+][0-9A-Za-z]+)*")


def version_number(text):
    """ "Elide 1.0.0-beta10 (native)" -> "1.0.0-beta10"; None when there is no number."""
    match = _VERSION.search(text or "")
    return match.group(0) if match else None


def versions_of(toolchains):
    """{"elide": "1.0.0", "mvn": "3.8.7", "java": "17.0.15"} of a probe; None without Elide
    (a suite run measures Elide, so a worker without it starts none)."""
    versions = {}
    for tool in VERSIONED_TOOLS:
        entry = (toolchains or {}).get(tool) or {}
        if entry.get("ok") and (number := version_number(entry.get("version"))):
            versions[tool] = number
    return versions if "elide" in versions else None


def versions_key(versions):
    """ "elide=1.0.0;java=17.0.15;mvn=3.8.7": one suite run per suite and key."""
    return ";".join(f"{tool}={versions[tool]}" for tool in sorted(versions))


def sort_key(version):
    """Orders "1.0.0-beta9" before "1.0.0-beta10" before "1.0.0" before "1.1.0"."""
    head, _, tail = (version or "").partition("-")
    numbers = tuple(int(part) if part.isdigit() else 0 for part in head.split("."))
    # A release sorts after its pre-releases; pre-releases by their own numbers.
    pre = tuple(
        (int(piece) if piece.isdigit() else -1, piece)
        for piece in re.findall(r"\d+|[A-Za-z]+", tail)
    )
    return numbers, (1,) if not tail else (0, *pre)
