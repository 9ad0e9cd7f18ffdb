"""Host caches of warm states: bounded, least recently used evicted, copies never shared."""

import os
import subprocess
import time

import pytest

from tests.repos import write_files
from workers.engine.checkout.cache import (
    COLD,
    WARM,
    HostCache,
    RaceCaches,
    cache_key,
    cache_tool,
)
from workers.engine.checkout.trees import remove_tree, tree_summary


def fill(path, sizes):
    """Files of `sizes` ({relative path: bytes}) under `path`; returns path."""
    return write_files(path, {name: "x" * size for name, size in sizes.items()})


@pytest.mark.parametrize(
    ("tool", "argv", "expected"),
    [
        ("maven", ["/usr/bin/mvn", "-B", "package"], "maven"),
        ("custom", ["env", "JAVA_HOME=/usr/lib/jvm/x", "mvn", "-T", "2", "package"], "maven"),
        ("custom", ["./mvnw", "package"], "maven"),
        ("custom", ["./gradlew", "build"], "gradle"),
        ("custom", ["/opt/elide/elide", "build"], "elide"),
    ],
)
def test_the_cache_belongs_to_the_tool_a_side_runs(tool, argv, expected):
    assert cache_tool(tool, argv) == expected


def test_unknown_commands_get_a_cache_of_their_own():
    one, other = cache_tool("custom", ["sh", "-c", "a"]), cache_tool("custom", ["sh", "-c", "b"])
    assert one.startswith("custom-") and other.startswith("custom-") and one != other


def test_keys_separate_repositories_commits_and_tools():
    keys = {
        cache_key("r1", "c1", "maven"),
        cache_key("r2", "c1", "maven"),
        cache_key("r1", "c2", "maven"),
        cache_key("r1", "c1", "gradle"),
    }
    assert len(keys) == 4


def test_the_store_stays_within_its_bound_evicting_the_least_recently_used(tmp_path):
    # An entry counts its 4 KiB blocks and 4 KiB per file and directory: "a" and "b" (a
    # directory and a 1,000-byte file) 12 KiB each, "c" (one file) 8 KiB.
    host = HostCache(tmp_path / "host", max_bytes=25_000)
    for name in ("a", "b"):
        assert host.store(name, fill(tmp_path / name, {".m2/lib.jar": 1000}), {"tool": name})
    old = time.time() - 100
    os.utime(tmp_path / "host" / "a" / "meta.json", (old, old))
    os.utime(tmp_path / "host" / "b" / "meta.json", (old + 1, old + 1))
    assert host.fetch("a", tmp_path / "copy-a")  # "a" is now the most recently used
    assert host.store("c", fill(tmp_path / "c", {"lib.jar": 1000}), {})
    assert [key for _, _, key in host.entries()] == ["a", "c"]  # b evicted
    assert sum(size for _, size, _ in host.entries()) <= 25_000
    assert not host.store("huge", fill(tmp_path / "huge", {"lib.jar": 30_000}), {})
    assert not host.fetch("huge", tmp_path / "copy-huge")
    assert not (tmp_path / "copy-huge").exists()


def test_every_run_starts_from_its_own_identical_copy_of_the_warm_state(tmp_path):
    host = HostCache(tmp_path / "host", max_bytes=10**9)
    builds = []

    def build():
        builds.append(1)
        return fill(tmp_path / "built-home", {".m2/repository/junit.jar": 300})

    caches = RaceCaches(
        WARM, host=host, local_root=tmp_path / "race", repository_url="r", commit="c"
    )
    snapshot, how = caches.warm_state("maven", build)
    assert how == "filled by a full build"
    assert caches.warm_state("maven", build)[1] == "prepared earlier in this race"
    homes = [tmp_path / "standard-home", tmp_path / "elide-home"]
    for home in homes:
        fill(home, {"left-over-from-the-last-run": 5})
        caches.start_from(home, "maven")
    assert tree_summary(homes[0]) == tree_summary(homes[1]) == tree_summary(snapshot)
    (homes[0] / ".m2/repository/junit.jar").write_bytes(b"tampered by a build")
    assert (homes[1] / ".m2/repository/junit.jar").read_bytes() == b"x" * 300
    assert tree_summary(snapshot) == tree_summary(homes[1])
    # A later race of the same repository and commit takes the state from the host.
    later = RaceCaches(
        WARM, host=host, local_root=tmp_path / "race2", repository_url="r", commit="c"
    )
    assert later.warm_state("maven", build)[1].startswith("taken from the host cache")
    assert len(builds) == 1
    cold = RaceCaches(
        COLD, host=host, local_root=tmp_path / "race3", repository_url="r", commit="c"
    )
    cold.start_from(homes[0], "maven")
    assert list(homes[0].iterdir()) == []


def empty_files(path, count):
    """`count` empty files in directories of 250: no bytes at all, only inodes."""
    for number in range(count):
        directory = path / f"d{number // 250}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{number}").touch()
    return path


def test_an_entry_of_many_empty_files_weighs_like_a_big_one(tmp_path):
    host = HostCache(tmp_path / "host", max_bytes=1024 * 1024)
    assert not host.store("empty", empty_files(tmp_path / "empty", 1_000), {})
    assert host.entries() == []


def test_inode_heavy_entries_are_evicted_least_recently_used_first(tmp_path):
    host = HostCache(tmp_path / "host", max_bytes=6 * 1024 * 1024)  # two of them: 8 MB
    assert host.store("first", empty_files(tmp_path / "first", 1_000), {})
    old = time.time() - 100
    os.utime(tmp_path / "host" / "first" / "meta.json", (old, old))
    assert host.store("second", empty_files(tmp_path / "second", 1_000), {})
    assert [key for _, _, key in host.entries()] == ["second"]
    assert host.entries()[0][1] >= 1_000 * 4096


def test_a_summary_survives_deep_chains_and_names_that_are_not_utf8(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1_200):  # deeper than PATH_MAX and the recursion limit allow to walk
        os.mkdir("d", dir_fd=fd)
        fd, parent = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
        os.close(parent)
    os.close(fd)
    (home / os.fsdecode(b"name-\xff")).write_text("odd")
    files, size, fingerprint = tree_summary(home)
    assert (files, size) == (1, 3)
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", "--", str(home), str(copy)], check=True)
    assert tree_summary(copy) == (files, size, fingerprint)
    (copy / os.fsdecode(b"name-\xff")).write_text("odder")
    assert tree_summary(copy)[2] != fingerprint
    remove_tree(home)
    remove_tree(copy)
