"""The disk quota is the kernel's: each side's source, home and scratch and the clone live on a
filesystem of their own, so a build (or a repository) meets ENOSPC at the limit whatever it
does. These run in the real sandbox as the build account, with a root worker as in CI."""

import os
import pwd
import re
import subprocess

import pytest

from tests.repos import GIT_ENV, git, make_git_repo
from tests.support import OutputListener, require_tool
from workers.engine import RaceSpec, run_race
from workers.engine.checkout.gitclone import CheckoutLimits, CloneError, RepositoryTooLarge, clone
from workers.engine.checkout.trees import tree_usage
from workers.engine.checkout.workspace import (
    OWNER_FILE,
    clone_checkout,
    race_workspace,
    remove_abandoned,
)
from workers.engine.config import EngineConfig
from workers.engine.isolation import quota

MB = 1024 * 1024


@pytest.fixture
def config(tmp_path):
    require_tool("bwrap", "builds run in bubblewrap")
    require_tool("mkfs.ext4", "the disk quota is a filesystem of its own")
    if os.geteuid() != 0:
        pytest.skip("the kernel's quota needs a root worker, as in CI")
    return EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        isolation__network="off", limits__disk_mb=32
    )


@pytest.fixture
def repo(tmp_path):
    return make_git_repo(tmp_path / "repo", {"README": "a repository\n"})


def race(config, repo, script, cache="cold"):
    """One run of `script` (Python, run inside the sandbox) on the standard side."""
    listener = OutputListener()
    spec = RaceSpec(
        str(repo), standard_cmd=["python3", "-c", script], elide_cmd=["true"], cache=cache
    )
    outcome = run_race(spec, config, listener)
    assert quota.mounts_under(config.workspace_root) == []  # everything unmounted after it
    return outcome, listener.output["standard"]


UNLINKED_FILL = """
import os, time
fd = os.open("hidden", os.O_WRONLY | os.O_CREAT)
os.unlink("hidden")  # no walk of the tree can see it any more
chunk, written = b"x" * (1 << 20), 0
try:
    while written < 64:
        os.write(fd, chunk)
        written += 1
    print("wrote 64 MB")
except OSError as exc:
    print(f"{exc.strerror} after {written} MB", flush=True)
time.sleep(5)  # holding it
print("BUILD SUCCESS")
"""


def test_a_file_unlinked_while_open_meets_enospc_at_the_quota(config, repo):
    outcome, output = race(config, repo, UNLINKED_FILL)
    found = re.search(r"No space left on device after (\d+) MB", output)
    assert found, output[-2000:]
    assert int(found[1]) < 32
    standard = outcome.sides["standard"]
    assert standard.status == "failure"
    assert standard.error == "disk quota reached: 32 MB (ARENA_BUILD_MAX_DISK_MB)"
    assert standard.error_kind == "build"  # the build's own doing: no void race
    assert outcome.sides["elide"].status == "success"


FALLOCATE_FILL = """
import os
fd = os.open("big", os.O_WRONLY | os.O_CREAT)
try:
    os.posix_fallocate(fd, 0, 256 << 20)
    print("preallocated 256 MB")
except OSError as exc:
    print(f"fallocate: {exc.strerror}; on disk {os.fstat(fd).st_blocks * 512 >> 20} MB")
"""


def test_preallocation_past_the_quota_is_refused_by_the_kernel(config, repo):
    _, output = race(config, repo, FALLOCATE_FILL)
    found = re.search(r"fallocate: No space left on device; on disk (\d+) MB", output)
    assert found, output[-2000:]
    assert int(found[1]) <= 32


MANY_DIRECTORIES = """
made = 0
try:
    import os
    while made < 60_000:
        os.mkdir(f"d{made}")
        made += 1
    print("made 60000 directories")
except OSError as exc:
    print(f"{exc.strerror} after {made} directories")
"""


def test_sixty_thousand_directories_meet_enospc_at_the_inode_quota(config, repo):
    outcome, output = race(config.with_changes(limits__inodes=2_000), repo, MANY_DIRECTORIES)
    found = re.search(r"No space left on device after (\d+) directories", output)
    assert found, output[-2000:]
    assert int(found[1]) <= 2_000
    standard = outcome.sides["standard"]
    assert standard.status == "failure"
    assert standard.error.startswith("inode quota reached: 2,000 files and directories")


def make_git_bomb(path, levels=3, fanout=16):
    """A repository of a few KB whose one commit checks out to fanout**levels files of 1 MiB
    each (4 GiB by default): every tree names the level below `fanout` times. The blob is not
    zeros, which git would write as holes."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    blob = subprocess.run(
        ["git", "-C", str(path), "hash-object", "-w", "--stdin"],
        input=b"x" * MB, env=GIT_ENV, capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    entry, mode, kind = blob, "100644", "blob"
    for _ in range(levels):
        listing = "".join(f"{mode} {kind} {entry}\tf{n}\n" for n in range(fanout))
        entry = subprocess.run(
            ["git", "-C", str(path), "mktree"],
            input=listing, env=GIT_ENV, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        mode, kind = "040000", "tree"
    commit = git(path, "commit-tree", entry, "-m", "bomb")
    git(path, "update-ref", "refs/heads/main", commit)
    git(path, "gc", "-q")
    pack_bytes = sum(
        pack.stat().st_size for pack in (path / ".git" / "objects" / "pack").glob("*.pack")
    )
    assert pack_bytes < 16 * 1024  # a few KB of pack
    return path


def test_a_git_bomb_is_refused_before_checkout_with_the_workspace_under_the_quota(config, tmp_path):
    bomb = make_git_bomb(tmp_path / "bomb")
    workspace = race_workspace(tmp_path / "workspaces" / "bomb", config).create()
    try:
        spec = RaceSpec(str(bomb))
        with pytest.raises(RepositoryTooLarge, match="checks out to more than 32 MB"):
            clone_checkout(workspace, spec, config, cancel=None)
        assert os.path.ismount(workspace.checkout)
        owner = pwd.getpwnam(config.isolation.build_user).pw_uid
        assert (workspace.checkout / ".git").stat().st_uid == owner  # cloned as the build account
        assert tree_usage(workspace.checkout).bytes < MB  # objects only: nothing checked out
        # Without the check from the objects, the checkout's own filesystem stops it.
        git_dir = workspace.checkout / ".git"
        subprocess.run(["rm", "-rf", "--", str(git_dir)], check=True)
        with pytest.raises(CloneError, match="No space left on device"):
            clone(
                str(bomb), "", workspace.checkout, timeout=120,
                drop=_drop(config), limits=CheckoutLimits(max_disk_mb=0),
            )  # fmt: skip
        assert tree_usage(workspace.checkout).bytes <= 32 * MB
    finally:
        workspace.remove()
    assert not workspace.root.exists()
    outcome, _ = race(config, bomb, "print('never runs')")
    assert outcome.status == "failed"
    assert "checks out to more than 32 MB" in outcome.error
    assert "ARENA_BUILD_MAX_DISK_MB" in outcome.error


def _drop(config):
    account = pwd.getpwnam(config.isolation.build_user)
    return (
        "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
        "--clear-groups", "--nnp", "--",
    )  # fmt: skip


def test_mounts_of_a_workspace_whose_worker_died_are_removed(config, tmp_path, repo):
    workspace = race_workspace(config.workspace_root / "crashed", config).create()
    clone_checkout(workspace, RaceSpec(str(repo)), config, cancel=None)
    workspace.fresh_copy("standard")
    assert len(quota.mounts_under(workspace.root)) == 3  # the checkout and each side
    (workspace.root / OWNER_FILE).write_text("999999999 1")  # a process long gone
    assert remove_abandoned(config.workspace_root) == 1
    assert quota.mounts_under(config.workspace_root) == []
    assert not workspace.root.exists()


DEEP_ODD_HOME = """
import os
home = os.environ["HOME"]
if not os.path.exists(os.path.join(home, "made")):
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    with open(os.open(b"cache-\\xff", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as odd:
        odd.write("not UTF-8")
    for _ in range(1200):
        os.mkdir("d", dir_fd=fd)
        fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    open(os.path.join(home, "made"), "w").close()
print("BUILD SUCCESS")
"""


def test_a_deep_home_with_names_that_are_not_utf8_races_with_the_warm_cache(config, repo):
    outcome, output = race(config.with_changes(limits__disk_mb=64), repo, DEEP_ODD_HOME, "warm")
    assert outcome.status == "completed", outcome.error
    standard = outcome.sides["standard"]
    assert standard.status == "success", output[-2000:]
    assert outcome.verdict.verdict != "void", outcome.verdict.void_reason
    assert "warm cache: starting from 2 files" in output, output[-2000:]


FILL_AND_WAIT = """
import time
with open("big", "wb") as out:
    for _ in range(48):
        out.write(b"x" * (1 << 20))
time.sleep(30)
"""


def test_without_the_kernels_quota_the_walked_one_stops_the_build(config, repo, monkeypatch):
    # A worker that cannot mount (not root, no mkfs.ext4): the tree is walked every 2 s.
    monkeypatch.setattr(quota, "kernel_quota_available", lambda: False)
    outcome, _ = race(config, repo, FILL_AND_WAIT)
    standard = outcome.sides["standard"]
    assert standard.status == "failure"
    assert "used more than 32 MB of disk" in standard.error
    assert standard.run_times_ms[0] < 20_000  # stopped long before its sleep ended
