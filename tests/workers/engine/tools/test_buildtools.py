"""Which Maven, Gradle and JDK a project gets, and how the tools store fetches, verifies,
unpacks, shares and bounds them."""

import io
import tarfile
import threading
from pathlib import Path

import pytest

from tests.provisioning import (
    CENTRAL,
    ENFORCER,
    MAVEN_PATH,
    MAVEN_VERSION,
    copy_mirror,
    gradle_distribution,
    gradle_wrapper_properties,
    offline_maven_files,
    tarball,
)
from tests.repos import write_files
from tests.toolchains import write_jar
from workers.engine.config import EngineConfig
from workers.engine.tools.buildtools import choose_maven, provide_gradle, provide_maven, store_for
from workers.engine.tools.jdk import Jdk, JdkRequest, choose_jdk, java_ranges, jdk_for_project
from workers.engine.tools.toolstore import ToolError, ToolStore, fetch, unpack_tar
from workers.engine.tools.versions import parse_requirement


def project(tmp_path, files):
    src = tmp_path / "src"
    write_files(src, files)
    return src


def config_for(tmp_path, mirror=None, **changes):
    repository = mirror.as_uri() if mirror else "http://127.0.0.1:9/maven2"
    return EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        toolchains__maven_repository=repository, **changes
    )


@pytest.mark.parametrize(
    ("text", "allowed", "refused"),
    [
        ("3.9", ["3.9.0", "3.9.11", "4.0.0"], ["3.8.7", "3.9.0-rc-1"]),
        ("[3.9,)", ["3.9.0", "3.9.11"], ["3.8.7"]),
        ("[3.6.3,3.9.0)", ["3.6.3", "3.8.7"], ["3.9.0", "3.6.2"]),
        ("(,3.8.1],[3.9.6,)", ["3.8.1", "3.9.6"], ["3.8.2", "3.9.5"]),
        ("[3.9.9]", ["3.9.9"], ["3.9.8", "3.9.10"]),
    ],
)
def test_maven_ranges_read_as_the_enforcer_reads_them(text, allowed, refused):
    requirement = parse_requirement(text, "test")
    assert all(requirement.allows(v) for v in allowed)
    assert not any(requirement.allows(v) for v in refused)


def test_java_ranges_read_1_8_as_8_and_honour_upper_bounds():
    requirement = parse_requirement("[1.8,9)", "test", java_version=True)
    assert requirement.allows("1.8.0_392") and requirement.allows("8.0.1")
    assert not requirement.allows("17.0.15") and not requirement.allows("9")


@pytest.mark.parametrize("junk", ["", "latest", "[3.9", "3.9,4", "[$(rm -rf),)", "x" * 300])
def test_what_is_not_a_version_or_range_is_no_requirement(junk):
    assert parse_requirement(junk, "test") is None


def test_the_wrapper_names_the_maven_even_when_the_pom_asks_otherwise(tmp_path):
    files = offline_maven_files(extra=ENFORCER.format(maven="[3.9,)", java="17"))
    src = project(tmp_path, {**files, **offline_maven_files(wrapper_version="3.9.9")})
    config = config_for(tmp_path)
    assert choose_maven(src, config, store_for(config)) == ("3.9.9", "the wrapper asks for 3.9.9")


def test_without_wrapper_or_requirement_the_default_maven_is_chosen(tmp_path):
    src = project(tmp_path, offline_maven_files())
    config = config_for(tmp_path, toolchains__maven_default="3.9.10")
    version, why = choose_maven(src, config, store_for(config))
    assert (version, why) == ("3.9.10", "the project names no version: ARENA_MAVEN_DEFAULT")


def test_enforcer_and_prerequisites_select_the_default_or_the_lowest_release_they_allow(
    tmp_path, central_maven_mirror
):
    files = offline_maven_files(extra=ENFORCER.format(maven="[3.8.2,3.10)", java="17"))
    files["pom.xml"] = files["pom.xml"].replace(
        "<packaging>", "<prerequisites><maven>3.9.4</maven></prerequisites>\n  <packaging>"
    )
    src = project(tmp_path, files)
    # The default is chosen when the project allows it ...
    config = config_for(tmp_path, central_maven_mirror, toolchains__maven_default="3.9.11")
    asked = (
        "[3.8.2,3.10) (maven-enforcer-plugin requireMavenVersion in pom.xml); "
        "3.9.4 (<prerequisites><maven> in pom.xml)"
    )
    assert choose_maven(src, config, store_for(config)) == (
        "3.9.11",
        f"ARENA_MAVEN_DEFAULT, which the project allows: {asked}",
    )
    # ... else the lowest release it allows, from Maven Central's list.
    config = config_for(tmp_path, central_maven_mirror, toolchains__maven_default="3.8.7")
    version, why = choose_maven(src, config, store_for(config))
    assert (version, why) == ("3.9.4", f"the lowest release the project allows: {asked}")


def test_a_requirement_no_release_meets_is_refused_by_name(tmp_path, central_maven_mirror):
    src = project(tmp_path, offline_maven_files(extra=ENFORCER.format(maven="[9.1,)", java="17")))
    config = config_for(tmp_path, central_maven_mirror)
    with pytest.raises(ToolError, match=r"no Maven release satisfies .*\[9\.1,\)"):
        choose_maven(src, config, store_for(config))
    offline = config_for(tmp_path / "offline")
    with pytest.raises(ToolError, match=r"no Maven could be chosen for \[9\.1,\) .*127\.0\.0\.1"):
        choose_maven(src, offline, store_for(offline))


JDKS = [Jdk("/jdk/8", 8, "1.8.0_392"), Jdk("/jdk/17", 17, "17.0.15"), Jdk("/jdk/25", 25, "25.0.3")]


def test_enforcer_java_ranges_select_the_jdk_upper_bounds_too(tmp_path):
    src = project(tmp_path, offline_maven_files(extra=ENFORCER.format(maven="3", java="[1.8,9)")))
    ranges = java_ranges(src)
    choice = choose_jdk(None, JDKS, ranges=ranges)
    assert choice.jdk.home == "/jdk/8"
    # The pom asks for release 17 (maven.compiler.source) and the range excludes 17: none fits.
    choice = choose_jdk(JdkRequest(17, "pom.xml"), JDKS, ranges=ranges)
    assert choice.jdk is None
    assert choice.error == (
        "no installed JDK fits: the project asks for Java 17 (pom.xml) and a JDK in [1.8,9) "
        "(maven-enforcer-plugin requireJavaVersion in pom.xml); installed JDKs: 8 (/jdk/8), "
        "17 (/jdk/17), 25 (/jdk/25)"
    )


def test_enforcer_java_range_picks_among_the_installed_jdks(tmp_path):
    src = project(tmp_path, offline_maven_files(extra=ENFORCER.format(maven="3", java="[21,)")))
    choice = jdk_for_project(src, EngineConfig(workspace_root=tmp_path / "w"))
    assert choice.jdk is not None and choice.jdk.major >= 21, choice.error
    assert "it accepts [21,) (maven-enforcer-plugin requireJavaVersion" in choice.describe()
    src17 = project(
        tmp_path / "b", offline_maven_files(extra=ENFORCER.format(maven="3", java="[17,18)"))
    )
    assert jdk_for_project(src17, EngineConfig(workspace_root=tmp_path / "w")).jdk.major == 17


def test_maven_is_fetched_verified_stored_once_and_shared(tmp_path, central_maven_mirror):
    src = project(tmp_path, offline_maven_files(wrapper_version="3.9.11"))
    config = config_for(tmp_path, central_maven_mirror)
    first = provide_maven(src, config)
    assert first.label == "Maven 3.9.11 (provisioned; the wrapper asks for 3.9.11)"
    assert first.provenance.startswith(f"downloaded {central_maven_mirror.as_uri()}/{MAVEN_PATH}")
    assert "verified against its published SHA-512" in first.provenance
    mvn = Path(first.executable)
    assert mvn.is_file() and mvn.stat().st_mode & 0o777 == 0o555
    assert config.tools_dir in mvn.parents
    # The mirror goes away: the next race takes the stored copy, downloads nothing.
    tarball(central_maven_mirror).rename(tmp_path / "moved.tar.gz")
    try:
        second = provide_maven(src, config)
    finally:
        (tmp_path / "moved.tar.gz").rename(tarball(central_maven_mirror))
    assert second.executable == first.executable
    assert second.provenance == f"taken from the tools store: {config.tools_dir}/maven/3.9.11"
    first.lease.release()
    second.lease.release()


def test_a_tampered_maven_download_is_refused_and_nothing_is_kept(tmp_path, central_maven_mirror):
    mirror = copy_mirror(central_maven_mirror, tmp_path / "mirror")
    with open(tarball(mirror), "r+b") as archive:
        archive.seek(4096)
        archive.write(b"tampered")
    src = project(tmp_path, offline_maven_files(wrapper_version="3.9.11"))
    config = config_for(tmp_path, mirror)
    with pytest.raises(ToolError) as refused:
        provide_maven(src, config)
    assert str(refused.value).startswith(
        "Maven 3.9.11 (the wrapper asks for 3.9.11) could not be provisioned: the Maven 3.9.11 "
        f"distribution {mirror.as_uri()}/"
    )
    assert "does not match its published sha512 checksum" in str(refused.value)
    assert not (config.tools_dir / "maven").exists() or not any(
        (config.tools_dir / "maven").iterdir()
    )
    assert not any((config.tools_dir / ".staging").iterdir())


def test_a_version_the_repository_lacks_or_an_unreachable_one_is_named(tmp_path):
    src = project(tmp_path, offline_maven_files(wrapper_version="3.9.999"))
    config = config_for(tmp_path, tmp_path / "empty-mirror")
    (tmp_path / "empty-mirror").mkdir()
    with pytest.raises(ToolError, match=r"Maven 3\.9\.999 .*-bin\.tar\.gz does not exist$"):
        provide_maven(src, config)
    with pytest.raises(ToolError, match=r"127\.0\.0\.1:9.*could not be fetched"):
        provide_maven(src, config_for(tmp_path))


def hostile_tar(path, member):
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return path


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("apache-maven-1/../../escape"),
        tarfile.TarInfo("/etc/passwd-arena"),
        tarfile.TarInfo("elsewhere/file"),
    ],
)
def test_archive_entries_outside_their_directory_are_refused(tmp_path, member):
    member.size = 1
    archive = hostile_tar(tmp_path / "a.tar.gz", member)
    with pytest.raises(ToolError, match="outside its directory"):
        unpack_tar(archive, tmp_path / "out", "apache-maven-1")
    assert not (tmp_path / "escape").exists()


def test_archive_links_are_refused(tmp_path):
    link = tarfile.TarInfo("apache-maven-1/bin/mvn")
    link.type, link.linkname = tarfile.SYMTYPE, "/bin/sh"
    with pytest.raises(ToolError, match="link or device"):
        unpack_tar(hostile_tar(tmp_path / "a.tar.gz", link), tmp_path / "out", "apache-maven-1")


def test_gradle_comes_from_the_configured_source_verified_by_the_wrappers_sum(tmp_path):
    jar = write_jar(tmp_path / "app.jar", ["dev/arena/test/Hello.class"])
    _, digest = gradle_distribution(tmp_path / "dists", "8.99", jar=jar)
    props = "gradle/wrapper/gradle-wrapper.properties"
    src = project(tmp_path, {"build.gradle": "", props: gradle_wrapper_properties("8.99", digest)})
    config = config_for(tmp_path, toolchains__gradle_distributions=str(tmp_path / "dists"))
    tool = provide_gradle(src, config)
    assert tool.label == "Gradle 8.99 (provisioned; the wrapper asks for 8.99)"
    assert Path(tool.executable).read_text().startswith("#!/bin/sh")
    tool.lease.release()
    wrong = project(
        tmp_path / "w", {"build.gradle": "", props: gradle_wrapper_properties("8.99", "ab" * 32)}
    )
    config = config_for(tmp_path / "w", toolchains__gradle_distributions=str(tmp_path / "dists"))
    with pytest.raises(ToolError, match="does not match its published sha256 checksum"):
        provide_gradle(wrong, config)


def test_gradle_zip_with_a_link_is_refused_and_an_unreachable_source_named(tmp_path):
    jar = write_jar(tmp_path / "app.jar", ["A.class"])
    gradle_distribution(tmp_path / "dists", "8.98", jar=jar, symlink_to="/etc/shadow")
    props = {
        "build.gradle": "",
        "gradle/wrapper/gradle-wrapper.properties": gradle_wrapper_properties("8.98"),
    }
    src = project(tmp_path, props)
    with pytest.raises(ToolError, match="link or device"):
        provide_gradle(
            src, config_for(tmp_path, toolchains__gradle_distributions=str(tmp_path / "dists"))
        )
    with pytest.raises(
        ToolError, match=r"Gradle 8\.98 could not be provisioned: .*services\.gradle\.org"
    ):
        provide_gradle(
            src,
            config_for(
                tmp_path,
                toolchains__gradle_distributions="https://services.gradle.org/distributions",
            ),
        )


def test_concurrent_requests_download_once(tmp_path):
    store = ToolStore(tmp_path / "tools", 10**9)
    calls = []

    def install(staging, tree):
        calls.append(1)
        (tree / "tool").write_text("x")

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(store.provide("maven", "1", install)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and sum(downloaded for _, _, downloaded in results) == 1
    for _, lease, _ in results:
        lease.release()


def test_the_store_is_bounded_least_recently_used_first_never_an_entry_in_use(tmp_path):
    store = ToolStore(tmp_path / "tools", 2500)

    def install(staging, tree):
        (tree / "blob").write_bytes(b"x" * 1000)

    _, held, _ = store.provide("maven", "1", install)
    _, lease2, _ = store.provide("maven", "2", install)
    lease2.release()
    _, lease3, _ = store.provide("maven", "3", install)  # 3000 bytes > 2500: one must go
    names = sorted(entry.name for entry in store.entries())
    assert names == ["1", "3"]  # 2 was least recently used and not held; 1 is held
    held.release()
    lease3.release()
    _, lease4, _ = store.provide("maven", "4", install)
    assert sorted(entry.name for entry in store.entries()) == ["3", "4"]
    lease4.release()


def test_a_release_without_a_published_sha512_is_checked_against_its_sha1(
    tmp_path, central_maven_mirror
):
    """Maven Central publishes no .sha512 before Maven 3.9.1, only .sha1: that one is checked,
    the page names it, and a tampered download is still refused."""
    mirror = copy_mirror(central_maven_mirror, tmp_path / "mirror")
    published = Path(f"{tarball(mirror)}.sha512")
    published.unlink()
    sha1 = Path(f"{tarball(mirror)}.sha1")
    fetch(f"{CENTRAL}/{MAVEN_PATH}/{MAVEN_VERSION}/{sha1.name}", sha1)  # Central's own file
    src = project(tmp_path, offline_maven_files(wrapper_version=MAVEN_VERSION))
    config = config_for(tmp_path, mirror)
    provided = provide_maven(src, config)
    assert "verified against its published SHA-1, kept in" in provided.provenance
    provided.lease.release()

    with open(tarball(mirror), "r+b") as archive:
        archive.seek(4096)
        archive.write(b"tampered")
    config = config_for(tmp_path / "again", mirror)
    with pytest.raises(ToolError, match="does not match its published sha1 checksum"):
        provide_maven(src, config)
    # A .sha512 that exists but cannot be read is never skipped for a weaker one.
    published.mkdir()
    with pytest.raises(ToolError, match=r"\.sha512 could not be fetched"):
        provide_maven(src, config_for(tmp_path / "third", mirror))
