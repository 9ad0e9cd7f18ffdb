"""Version numbers and Maven version ranges, as maven-enforcer-plugin reads them.

A requirement is a range list: `3.9` alone means "3.9 or newer" (enforcer's reading of a bare
version), `[3.9,4)` and `(,1.8]` are Maven ranges, `[1.8,9),[11,)` a union. Java versions
written `1.8` mean 8 (`java_version=True`). Used for the Maven a project requires
(buildtools.py) and the JDK it accepts (jdk.py): one reading of both.
"""

import re
from dataclasses import dataclass

_PART_RE = re.compile(r"\d+|[A-Za-z]+")
_RANGE_RE = re.compile(r"([\[(])\s*([^,\[\]()]*?)\s*(?:,\s*([^,\[\]()]*?)\s*)?([\])])")
_PLAIN_RE = re.compile(r"^[0-9][0-9A-Za-z._-]{0,40}$")


def version_key(text, *, java_version=False):
    """A sortable key: (numbers..., qualifier rank); "3.9.0-rc-1" sorts before "3.9.0"."""
    text = str(text).strip()
    numbers, qualifier = [], 1  # 1 = a release, 0 = a pre-release qualifier
    main, _, rest = text.partition("-")
    for part in main.split(".")[:4]:
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
    if java_version and len(numbers) >= 2 and numbers[0] == 1:
        numbers = numbers[1:]
    if rest and _PART_RE.search(rest) and not rest.replace("_", "").isdigit():
        qualifier = 0
    numbers = [*numbers, 0, 0, 0, 0][:4]  # "3.9" == "3.9.0" == "3.9.0.0"
    return (*numbers, qualifier)


def is_release(text):
    """A plain release ("3.9.9"), not an alpha, beta, milestone or release candidate."""
    return bool(re.fullmatch(r"\d+(\.\d+){1,3}", str(text).strip()))


@dataclass(frozen=True)
class Bound:
    low: tuple | None
    low_inclusive: bool
    high: tuple | None
    high_inclusive: bool

    def contains(self, key):
        if self.low is not None and (
            key < self.low or (key == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (key > self.high or (key == self.high and not self.high_inclusive))
        )


@dataclass(frozen=True)
class Requirement:
    text: str  # as written, for messages: "[3.9,)"
    source: str  # where: "requireMavenVersion in pom.xml"
    bounds: tuple
    java_version: bool = False

    def allows(self, version):
        key = version_key(version, java_version=self.java_version)
        return any(bound.contains(key) for bound in self.bounds)

    def describe(self):
        return f"{self.text} ({self.source})"


def parse_requirement(text, source, *, java_version=False):
    """A Requirement, or None when `text` is not a version or range (hostile input is ignored)."""
    text = str(text or "").strip()[:200]
    if not text:
        return None

    def key(value):
        return version_key(value, java_version=java_version) if value else None

    if _PLAIN_RE.match(text):
        bounds = (Bound(key(text), True, None, False),)
        return Requirement(text, source, bounds, java_version)
    bounds = []
    position = 0
    for match in _RANGE_RE.finditer(text):
        between = text[position : match.start()].strip(" ,")
        if between:
            return None
        position = match.end()
        opening, low, high, closing = match.groups()
        if high is None:  # "[1.8]": exactly that version
            if opening != "[" or closing != "]" or not low:
                return None
            bounds.append(Bound(key(low), True, key(low), True))
            continue
        for value in (low, high):
            if value and not _PLAIN_RE.match(value):
                return None
        bounds.append(Bound(key(low), opening == "[", key(high), closing == "]"))
    if not bounds or text[position:].strip(" ,"):
        return None
    return Requirement(text, source, tuple(bounds), java_version)


def lowest_allowed(versions, requirements):
    """The lowest of `versions` every requirement allows, or None."""
    fitting = [v for v in versions if all(r.allows(v) for r in requirements)]
    return min(fitting, key=version_key) if fitting else None
