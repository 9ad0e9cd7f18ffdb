"""Which Elide command a version runs: one template per range of Elide releases.

Read from Elide's source (github.com/elide-dev/elide, see docs/BUILDS.md "The Elide side"):
no release has `elide adopt`; `elide build` (packages/cli/.../cmd/builder/ToolBuildCommand.kt)
builds the project in the working directory. Up to 1.0.0-beta10 (the newest release) a bare
pom.xml only has its dependencies resolved; from PR #1856 ("build simple poms automatically",
commit 3dd2d505e, after beta10) `elide build` compiles a pom.xml's sources and writes its jars
under .dev/artifacts/jvm/jars/. Neither reads build.gradle.
"""

import re
from dataclasses import dataclass

ELIDE_NEEDS_POM = (
    "Elide builds a pom.xml; this repository has only build.gradle, which no Elide release reads"
)
ELIDE_POM_SOURCES_NOTE = (
    "this Elide (1.0.0-beta10 or earlier) resolves a bare pom.xml's dependencies but compiles "
    "none of its sources: pom.xml builds came later (elide-dev/elide#1856)"
)
_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)\.?(\d+))?", re.IGNORECASE)
_STAGES = {"alpha": 0, "beta": 1, "rc": 2, None: 3}


@dataclass(frozen=True)
class ElideTemplate:
    name: str
    # The newest version it applies to (a sort key of elide_version), None: every later one.
    up_to: tuple | None
    words: tuple
    builds_pom_sources: bool
    source: str


TEMPLATES = (
    ElideTemplate(
        name="1.0.0-beta10 and earlier: elide build",
        up_to=(1, 0, 0, _STAGES["beta"], 10),
        words=("{elide}", "build"),
        builds_pom_sources=False,
        source="elide-dev/elide tag 1.0.0-beta10",
    ),
    ElideTemplate(
        name="after 1.0.0-beta10: elide build on pom.xml",
        up_to=None,
        words=("{elide}", "build"),
        builds_pom_sources=True,
        source="elide-dev/elide#1856, commit 3dd2d505e",
    ),
)


def elide_version(text):
    """A sort key (major, minor, patch, stage, number) of the first version in `text`, None
    when it names none: "Elide 1.0.0-beta10" -> (1, 0, 0, 1, 10); a release sorts after its
    alpha, beta and rc versions."""
    match = _VERSION_RE.search(text or "")
    if match is None:
        return None
    major, minor, patch, stage, number = match.groups()
    stage = stage.lower() if stage else None
    return (int(major), int(minor), int(patch), _STAGES[stage], int(number or 0))


def elide_template(version_text):
    """The template of an Elide version; an unknown version gets the newest template."""
    version = elide_version(version_text)
    if version is not None:
        for template in TEMPLATES:
            if template.up_to is not None and version <= template.up_to:
                return template
    return TEMPLATES[-1]
