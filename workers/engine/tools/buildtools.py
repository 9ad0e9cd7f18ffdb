"""The Maven or Gradle a standard side runs: chosen from what the project asks for, provisioned
by the arena (toolstore.py), never the repository's own wrapper script.

Maven, first found wins:
1. the version `.mvn/wrapper/maven-wrapper.properties` names in its distributionUrl (only the
   version is taken: the distribution always comes from ARENA_MAVEN_REPOSITORY);
2. when the project states requirements (maven-enforcer-plugin `requireMavenVersion` ranges,
   `<prerequisites><maven>`): ARENA_MAVEN_DEFAULT when they all allow it, else the lowest
   release (no alpha, beta or release candidate; none older than MAVEN_FLOOR) they allow, from
   the repository's maven-metadata.xml. The default comes first because a stated floor is
   often older than the project's own plugins accept (gson allows [3.3.1,) while its protobuf
   plugin needs 3.9.6);
3. ARENA_MAVEN_DEFAULT.
The distribution is `org.apache.maven:apache-maven:<v>:tar.gz:bin`, verified against the
`.sha512` published beside it; Maven Central publishes none before 3.9.1, and for those
releases the `.sha1` it does publish is checked instead (the page names which).
Gradle: the version, file and `distributionSha256Sum` of
`gradle/wrapper/gradle-wrapper.properties`, the file fetched from ARENA_GRADLE_DISTRIBUTIONS
(a base URL or a directory) and verified against that sum, else against the `.sha256` the
source publishes beside it.
"""

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from workers.engine.isolation.safefiles import read_text
from workers.engine.tools.pom import read_pom
from workers.engine.tools.toolstore import (
    NotPublished,
    ToolError,
    ToolStore,
    fetch,
    fetch_text,
    unpack_tar,
    unpack_zip,
    verify,
)
from workers.engine.tools.versions import is_release, lowest_allowed, parse_requirement

MAVEN_WRAPPER_PROPERTIES = ".mvn/wrapper/maven-wrapper.properties"
GRADLE_WRAPPER_PROPERTIES = "gradle/wrapper/gradle-wrapper.properties"
# Releases before this one are never chosen by range: they predate Maven Central's https-only
# access (3.2.3 still used http) and current JDKs.
MAVEN_FLOOR = "3.6.3"
METADATA_MAX_AGE = 24 * 3600
_VERSION = r"\d{1,4}(?:\.\d{1,4}){1,3}(?:-[A-Za-z0-9]{1,20}(?:-\d{1,4})?)?"
_MAVEN_URL_RE = re.compile(rf"apache-maven-({_VERSION})-bin\.(?:zip|tar\.gz)$")
_GRADLE_URL_RE = re.compile(rf"gradle-({_VERSION})-(bin|all)\.zip$")
_PROPERTY_LINE_RE = re.compile(r"^\s*([A-Za-z0-9_.]{1,80})\s*[=:]\s*(.*?)\s*$", re.MULTILINE)


@dataclass
class ProvidedTool:
    """A tool in the store: its executable, the directory the sandbox shows read-only, the
    sentence the race page shows, and the race's lease on it."""

    executable: str
    ro_path: str
    label: str
    lease: object = field(default=None, repr=False)
    # Where it came from this time: "downloaded from <url>, SHA-512 verified" or the store.
    provenance: str = ""


def wrapper_properties(src, relative):
    """The key=value pairs of a wrapper's properties file (`\\:` unescaped), {} when absent."""
    text = read_text(src, relative, 64 * 1024) or ""
    return {key: value.replace("\\", "") for key, value in _PROPERTY_LINE_RE.findall(text)}


def store_for(config):
    return ToolStore(config.tools_dir, config.stores.tools_max_mb * 1024 * 1024)


# --- Maven ----------------------------------------------------------------------------------------
def maven_releases(config, store):
    """Maven releases listed in the repository's maven-metadata.xml (kept a day in the store)."""
    relative = "maven-metadata.xml"
    text = store.cached(relative, METADATA_MAX_AGE)
    if text is None:
        repository = config.toolchains.maven_repository.rstrip("/")
        url = f"{repository}/org/apache/maven/apache-maven/{relative}"
        store.prepare()
        with tempfile.TemporaryDirectory(dir=store.root / ".staging") as scratch:
            text = fetch_text(url, scratch)
        store.keep(relative, text)
    try:
        root = ElementTree.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        raise ToolError("Maven's version list (maven-metadata.xml) could not be read") from None
    versions = [(v.text or "").strip() for v in root.iter() if v.tag.endswith("version")]
    return [v for v in versions if is_release(v)]


def choose_maven(src, config, store):
    """(version, why): the Maven this project gets, by the rule of this module's docstring."""
    url = wrapper_properties(src, MAVEN_WRAPPER_PROPERTIES).get("distributionUrl", "")
    match = _MAVEN_URL_RE.search(url)
    if match:
        return match.group(1), f"the wrapper asks for {match.group(1)}"
    pom = read_pom(src)
    requirements = []
    if pom is not None:
        requirements = pom.enforcer_requirements("requireMavenVersion")
        prerequisite = pom.prerequisite_maven()
        if prerequisite is not None:
            requirements.append(prerequisite)
    if not requirements:
        return config.toolchains.maven_default, "the project names no version: ARENA_MAVEN_DEFAULT"
    floor = parse_requirement(MAVEN_FLOOR, "MAVEN_FLOOR")
    asked = "; ".join(r.describe() for r in requirements)
    default = config.toolchains.maven_default
    if all(r.allows(default) for r in [*requirements, floor]):
        return default, f"ARENA_MAVEN_DEFAULT, which the project allows: {asked}"
    try:
        releases = maven_releases(config, store)
    except ToolError as error:
        raise ToolError(f"no Maven could be chosen for {asked}: {error}") from None
    version = lowest_allowed(releases, [*requirements, floor])
    if version is None:
        raise ToolError(f"no Maven release satisfies the project's requirements: {asked}")
    return version, f"the lowest release the project allows: {asked}"


def maven_url(config, version):
    """org.apache.maven:apache-maven:<version>:tar.gz:bin in the configured repository."""
    name = f"apache-maven-{version}-bin.tar.gz"
    repository = config.toolchains.maven_repository.rstrip("/")
    return f"{repository}/org/apache/maven/apache-maven/{version}/{name}"


def _provenance(downloaded, url, digest, entry):
    if downloaded:
        return f"downloaded {url}, verified against its published {digest}, kept in {entry}"
    return f"taken from the tools store: {entry}"


# Checksums Maven Central publishes beside a file, strongest first: releases before 3.9.1 have
# no .sha512 there, only .sha1 (and .md5, never used).
MAVEN_DIGESTS = (("sha512", "SHA-512"), ("sha1", "SHA-1"))


def _install_maven(config, version, verified):
    """The store's installer of Maven `version`; appends the digest it checked to `verified`."""
    name = f"apache-maven-{version}-bin.tar.gz"
    url = maven_url(config, version)

    def install(staging, tree):
        archive = Path(staging) / name
        fetch(url, archive)
        for algorithm, label in MAVEN_DIGESTS:
            try:
                published = fetch_text(f"{url}.{algorithm}", staging, max_bytes=4096)
            except NotPublished:
                continue  # not published for this release (never a network failure): next
            verify(archive, algorithm, published, f"the Maven {version} distribution {url}")
            verified.append(label)
            break
        else:
            raise ToolError(f"no checksum is published for {url}: refused")
        unpack_tar(archive, tree, f"apache-maven-{version}")

    return install


def provide_maven(src, config):
    """The ProvidedTool of a Maven project; ToolError (the race is void) when it cannot be."""
    store = store_for(config)
    version, why = choose_maven(src, config, store)
    verified = []
    try:
        install = _install_maven(config, version, verified)
        entry, lease, downloaded = store.provide("maven", version, install)
    except ToolError as error:
        raise ToolError(f"Maven {version} ({why}) could not be provisioned: {error}") from None
    home = entry / f"apache-maven-{version}"
    return ProvidedTool(
        str(home / "bin" / "mvn"),
        str(entry),
        f"Maven {version} (provisioned; {why})",
        lease,
        _provenance(downloaded, maven_url(config, version), "".join(verified), entry),
    )


# --- Gradle ---------------------------------------------------------------------------------------
def gradle_url(config, file_name):
    """The distribution's URL in ARENA_GRADLE_DISTRIBUTIONS (a base URL or a directory)."""
    source = config.toolchains.gradle_distributions.rstrip("/")
    base = source if "://" in source else Path(source).absolute().as_uri()
    return f"{base}/{file_name}"


def _install_gradle(config, version, file_name, checksum):
    url = gradle_url(config, file_name)

    def install(staging, tree):
        archive = Path(staging) / file_name
        fetch(url, archive)
        published = checksum or fetch_text(f"{url}.sha256", staging, max_bytes=4096)
        verify(archive, "sha256", published, f"the Gradle {version} distribution {url}")
        unpack_zip(archive, tree, f"gradle-{version}")

    return install


def provide_gradle(src, config):
    """The ProvidedTool of a Gradle project, from its wrapper properties."""
    properties = wrapper_properties(src, GRADLE_WRAPPER_PROPERTIES)
    match = _GRADLE_URL_RE.search(properties.get("distributionUrl", ""))
    if not match:
        raise ToolError(
            f"the project names no Gradle version ({GRADLE_WRAPPER_PROPERTIES} distributionUrl)"
            " and ARENA_GRADLE is not set"
        )
    version, kind = match.groups()
    file_name = f"gradle-{version}-{kind}.zip"
    if not config.toolchains.gradle_distributions:
        raise ToolError(
            f"Gradle {version}: no distribution source is set (ARENA_GRADLE_DISTRIBUTIONS)"
        )
    checksum = properties.get("distributionSha256Sum", "")
    install = _install_gradle(config, version, file_name, checksum)
    try:
        entry, lease, downloaded = store_for(config).provide("gradle", f"{version}-{kind}", install)
    except ToolError as error:
        raise ToolError(f"Gradle {version} could not be provisioned: {error}") from None
    return ProvidedTool(
        str(entry / f"gradle-{version}" / "bin" / "gradle"),
        str(entry),
        f"Gradle {version} (provisioned; the wrapper asks for {version})",
        lease,
        _provenance(downloaded, gradle_url(config, file_name), "SHA-256", entry),
    )
