"""The sandbox fails closed and its limits hold: seccomp, mounts, /tmp, disk, repository size,
the measurement lock. These run as root, like the workers in CI and production."""

import os
import platform
import pwd
import subprocess
import uuid

import pytest

from tests.repos import make_git_repo
from tests.support import OutputListener
from workers.checks import host_can_build
from workers.engine import RaceSpec, run_race
from workers.engine.measuring.measure import measurement_lock


@pytest.fixture
def config(config):
    return config.with_changes(isolation__network="off")


def race(config, repo, standard_cmd, elide_cmd=("true",), cache="cold"):
    """A race of one run a side; cold by default, so that the measured run is the only build
    (a warm race builds once more, unmeasured, in its prepare phase)."""
    listener = OutputListener()
    spec = RaceSpec(
        str(repo), standard_cmd=list(standard_cmd), elide_cmd=list(elide_cmd), cache=cache
    )
    return run_race(spec, config, listener), listener.output


def test_without_bubblewrap_nothing_runs_and_the_side_names_it(config, repo, tmp_path):
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    command = ["sh", "-c", f"touch {marker}; echo BUILD SUCCESS"]
    outcome, output = race(
        config.with_changes(isolation__bwrap="/nonexistent/bwrap"), repo, command, command
    )
    assert outcome.status == "completed"
    for side, result in outcome.sides.items():
        assert result.status == "failure"
        assert "BUILD SUCCESS\n" not in output[side]
    # The first side names what is missing; the race is void then, the other never builds.
    assert "bubblewrap (/nonexistent/bwrap) is not installed" in outcome.sides["standard"].error
    assert "the race is void" in outcome.sides["elide"].error
    assert not marker.exists()


SYSCALLS_X86_64 = {
    "mount": (165, 0, 0, 0, 0, 0),
    "umount2": (166, 0, 0),
    "unshare(CLONE_NEWUSER)": (272, 0x10000000),
    "unshare(CLONE_NEWNS)": (272, 0x00020000),
    "setns": (308, 0, 0),
    "clone(CLONE_NEWUSER)": (56, 0x10000000 | 17, 0, 0, 0, 0),
    "ptrace(PTRACE_ATTACH, 1)": (101, 16, 1, 0, 0),
    "keyctl": (250, 0, 0, 0, 0, 0),
    "add_key": (248, 0, 0, 0, 0, 0),
    "request_key": (249, 0, 0, 0, 0),
    "bpf": (321, 0, 0, 0),
    "perf_event_open": (298, 0, 0, 0, 0, 0),
    "kexec_load": (246, 0, 0, 0, 0),
    "kexec_file_load": (320, 0, 0, 0, 0, 0),
    "reboot": (169, 0, 0, 0, 0),
    "init_module": (175, 0, 0, 0),
    "finit_module": (313, 0, 0, 0),
    "delete_module": (176, 0, 0),
}
PROBE = """
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
results = {}
for name, args in json.loads(sys.argv[1]).items():
    ctypes.set_errno(0)
    value = libc.syscall(*[ctypes.c_long(arg) for arg in args])
    results[name] = ctypes.get_errno() if value == -1 else "allowed"
print("RESULTS", json.dumps(results))
"""


def test_seccomp_denies_namespaces_ptrace_keyrings_bpf_perf_kexec_and_modules(config, repo):
    if platform.machine() != "x86_64":
        pytest.skip("system call numbers of x86_64")
    import json

    command = ["python3", "-c", PROBE, json.dumps(SYSCALLS_X86_64)]
    _, output = race(config, repo, command)
    line = next(line for line in output["standard"].splitlines() if line.startswith("RESULTS"))
    results = json.loads(line.split(" ", 1)[1])
    assert results == dict.fromkeys(SYSCALLS_X86_64, 1), results  # 1 = EPERM, from the filter


def test_workspace_and_tmp_are_nosuid_nodev_and_tmp_has_a_size(config, repo):
    """In the measured run and in a warm race's unmeasured prepare build alike."""
    script = (
        "grep -E ' /(build/src|build/home|tmp) ' /proc/self/mountinfo; "
        "dd if=/dev/zero of=/tmp/fill bs=1M count=40 2>&1; echo done"
    )
    _, output = race(
        config.with_changes(limits__tmp_mb=16), repo, ["sh", "-c", script], cache="warm"
    )
    assert "=== prepare: one full build fills the cache (not measured) ===" in output["standard"]
    mounts = [line for line in output["standard"].splitlines() if " - " in line]
    builds = 2  # the prepare build, then the measured run
    assert sorted(line.split()[4] for line in mounts) == sorted(
        ["/build/home", "/build/src", "/tmp"] * builds
    )
    for line in mounts:
        options = line.split()[5].split(",")
        assert "nosuid" in options and "nodev" in options, line
    assert output["standard"].count("No space left on device") == builds
    assert all("size=16384k" in line for line in mounts if line.split()[4] == "/tmp")


def test_a_build_filling_the_disk_is_stopped_with_a_clear_message(config, repo):
    script = "dd if=/dev/zero of=big bs=1M count=64 status=none; sleep 30; echo BUILD SUCCESS"
    outcome, _ = race(config.with_changes(limits__disk_mb=32), repo, ["sh", "-c", script])
    standard = outcome.sides["standard"]
    assert standard.status == "failure"
    assert "disk quota reached: 32 MB (ARENA_BUILD_MAX_DISK_MB)" in standard.error
    assert standard.run_times_ms[0] < 15_000  # stopped long before its sleep ended
    assert outcome.sides["elide"].status == "success"


def test_the_disk_quota_also_stops_a_warm_races_prepare_build(config, repo):
    script = "dd if=/dev/zero of=big bs=1M count=64 status=none; sleep 30; echo BUILD SUCCESS"
    outcome, _ = race(
        config.with_changes(limits__disk_mb=32), repo, ["sh", "-c", script], cache="warm"
    )
    standard = outcome.sides["standard"]
    assert standard.status == "failure" and standard.run_times_ms == []  # never measured
    assert standard.error.startswith("prepare: one full build fills the cache: ")
    assert "disk quota reached: 32 MB (ARENA_BUILD_MAX_DISK_MB)" in standard.error
    assert standard.phases["prepare_ms"] < 15_000  # stopped long before its sleep ended


def test_absurdly_deep_or_large_repositories_are_refused(config, tmp_path):
    deep = make_git_repo(tmp_path / "deep", {"/".join(["d"] * 30) + "/f.txt": "x"})
    outcome, _ = race(config.with_changes(limits__repo_depth=20), deep, ["true"])
    assert outcome.status == "failed"
    assert "more than 20 levels deep (ARENA_MAX_REPO_DEPTH)" in outcome.error
    many = make_git_repo(tmp_path / "many", {f"f{n}.txt": "x" for n in range(40)})
    outcome, _ = race(config.with_changes(limits__repo_files=30), many, ["true"])
    assert outcome.status == "failed"
    assert "more than 30 files (ARENA_MAX_REPO_FILES)" in outcome.error


TAKE_LOCK = """
import fcntl, os, sys
try:
    fd = os.open(sys.argv[1], os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("LOCKED")
except OSError as exc:
    print("REFUSED", type(exc).__name__)
"""


@pytest.mark.parametrize("user", ["nobody", "arena-build"])
def test_a_foreign_user_cannot_take_the_measurement_lock(config, repo, user):
    if os.geteuid() != 0:
        pytest.skip("switching to another user needs root, as in CI")
    race(config, repo, ["true"])  # a race creates the lock where it lives
    path = config.measure_lock_path
    assert path.exists()
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    with measurement_lock(path):
        pass
    gid = pwd.getpwnam(user).pw_gid
    result = subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups", "/usr/bin/python3",
         "-c", TAKE_LOCK, str(path)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.stdout.strip() == "REFUSED PermissionError", result.stdout + result.stderr


@pytest.mark.parametrize(
    ("account", "reason"),
    [("no-such-account-here", "does not exist"), ("root", "is root (uid or gid 0)")],
)
def test_a_root_worker_that_cannot_drop_privileges_refuses_to_build(
    config, repo, tmp_path, account, reason
):
    if os.geteuid() != 0:
        pytest.skip("the worker must be root, as in CI")
    marker = tmp_path / "ran"
    command = ["sh", "-c", f"touch {marker}"]
    outcome, _ = race(config.with_changes(isolation__build_user=account), repo, command, command)
    # Not even the clone runs (it runs as the build account): the race fails, void.
    assert outcome.status == "failed" and outcome.sides == {}
    assert reason in outcome.error and "refusing to build as root" in outcome.error
    assert outcome.verdict.verdict == "void"
    assert not marker.exists()
    # What `manage.py check` (and so `make run`) says of such a host.
    messages = host_can_build(config=config.with_changes(isolation__build_user=account))
    assert [m.id for m in messages if m.id == "arena.W001"] == ["arena.W001"]
    assert any(reason in m.msg for m in messages)
