"""The few facts the arena reads from a project's pom.xml, read as hostile input.

The file is opened without following symlinks, only when regular and at most 1 MB
(safefiles.py), and parsed with defusedxml with DTDs forbidden (no entities, no external
references). Namespaces are ignored. `${property}` references are resolved from the pom's own
properties only; a parent pom outside the repository is never fetched.
"""

import re
from dataclasses import dataclass

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from workers.engine.isolation.safefiles import read_text
from workers.engine.tools.versions import parse_requirement

_PROPERTY_RE = re.compile(r"^\$\{([A-Za-z0-9_.-]{1,100})\}$")
ENFORCER = "maven-enforcer-plugin"


def local(tag):
    return str(tag).rsplit("}", 1)[-1]


def children(element, name):
    return [child for child in element if local(child.tag) == name]


def text_of(element, path):
    """The text at a path of local names (namespaces ignored), or None."""
    current = [element]
    for name in path:
        current = [child for parent in current for child in children(parent, name)]
        if not current:
            return None
    return (current[0].text or "").strip()


@dataclass
class Pom:
    root: object
    properties: dict

    def resolve(self, value):
        """`value` with a whole-value ${property} reference resolved (bounded), or None when
        it still refers to something unknown."""
        for _ in range(5):  # ${a} -> ${b} -> 17, bounded
            match = _PROPERTY_RE.match(value or "")
            if not match:
                break
            value = self.properties.get(match.group(1), "")
        return value if value and "${" not in value else None

    def plugins(self, artifact_id):
        """Every <plugin> with this artifactId under build/plugins or pluginManagement."""
        found = []
        for path in (("build", "plugins"), ("build", "pluginManagement", "plugins")):
            current = [self.root]
            for name in path:
                current = [child for parent in current for child in children(parent, name)]
            for block in current:
                found += [
                    p
                    for p in children(block, "plugin")
                    if text_of(p, ("artifactId",)) == artifact_id
                ]
        return found

    def enforcer_requirements(self, rule, *, java_version=False):
        """The ranges of an enforcer rule (`requireMavenVersion`, `requireJavaVersion`) in any
        of the enforcer plugin's configurations."""
        found = []
        for plugin in self.plugins(ENFORCER):
            for element in plugin.iter():
                if local(element.tag) != rule:
                    continue
                value = self.resolve(text_of(element, ("version",)))
                requirement = parse_requirement(
                    value, f"{ENFORCER} {rule} in pom.xml", java_version=java_version
                )
                if requirement is not None:
                    found.append(requirement)
        return found

    def prerequisite_maven(self):
        """<prerequisites><maven> as a requirement (that version or newer), or None."""
        value = self.resolve(text_of(self.root, ("prerequisites", "maven")))
        return parse_requirement(value, "<prerequisites><maven> in pom.xml")


def read_pom(src):
    """The project's pom.xml at `src`, or None when absent or unreadable."""
    text = read_text(src, "pom.xml")
    if not text:
        return None
    try:
        root = ElementTree.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return None
    properties = {}
    for block in children(root, "properties"):
        for prop in block:
            properties[local(prop.tag)] = (prop.text or "").strip()
    return Pom(root, properties)
