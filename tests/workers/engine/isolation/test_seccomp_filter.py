"""The sandbox's kernel surface: socket families, denied calls, sized filesystems, CPU pinning.

Each probe runs inside bubblewrap as the build account, as every build does; these tests run
as root, like the workers in CI and production.
"""

import json
import os
import platform

import pytest

from workers.engine.isolation.sandbox import Sandbox
from workers.engine.measuring.process import run_process


@pytest.fixture
def config(config):
    return config.with_changes(isolation__network="off")


def run_in_sandbox(config, tmp_path, argv, cpus=None):
    side_dir = tmp_path / "workspaces" / "race" / "a1b2c3"
    for name in ("src", "home"):
        (side_dir / name).mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(config)
    assert not sandbox.error, sandbox.error
    for name in ("src", "home"):
        os.chown(side_dir / name, sandbox.identity.uid, sandbox.identity.gid)
    launch = sandbox.launch(
        argv, workdir=side_dir / "src", home=side_dir / "home", side_dir=side_dir, cpus=cpus
    )
    chunks = []
    outcome = run_process(launch, timeout=60, on_output=chunks.append)
    return outcome, b"".join(chunks).decode()


def results_of(output):
    line = next(line for line in output.splitlines() if line.startswith("RESULTS "))
    return json.loads(line.split(" ", 1)[1])


# x86_64 numbers; errno 1 = EPERM, 97 = EAFNOSUPPORT (both from the filter).
SURFACE_PROBE = """
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
buffer = ctypes.create_string_buffer(4096)
mask = ctypes.c_ulong(3)

def call(*args):
    ctypes.set_errno(0)
    value = libc.syscall(*[ctypes.c_long(arg) for arg in args])
    return ctypes.get_errno() if value == -1 else "allowed"

def make(family, kind, protocol=0):
    try:
        socket.socket(family, kind, protocol).close()
        return "allowed"
    except OSError as exc:
        return exc.errno

results = {
    "io_uring_setup": call(425, 8, ctypes.addressof(buffer)),
    "io_uring_enter": call(426, 0, 0, 0, 0, 0, 0),
    "io_uring_register": call(427, 0, 0, 0, 0),
    "memfd_secret": call(447, 0),
    "modify_ldt": call(154, 0, ctypes.addressof(buffer), 16),
    "sched_setaffinity": call(203, 0, 8, ctypes.addressof(mask)),
    "process_madvise": call(440, 0, 0, 0, 0, 0),
    "userfaultfd": call(323, 0),
    "uselib": call(134, 0),
    "fanotify_init": call(300, 0, 0),
    "quotactl_fd": call(443, 0, 0, 0, 0),
    "socketpair(AF_VSOCK)": call(53, 40, 1, 0, ctypes.addressof(buffer)),
    "socket(AF_VSOCK)": make(40, socket.SOCK_STREAM),
    "socket(AF_PACKET)": make(17, socket.SOCK_DGRAM),
    "socket(AF_NETLINK, NETLINK_AUDIT)": make(16, socket.SOCK_RAW, 9),
    "socket(AF_BLUETOOTH)": make(31, socket.SOCK_STREAM),
    "socket(AF_ALG)": make(38, socket.SOCK_SEQPACKET),
    "socket(AF_INET)": make(socket.AF_INET, socket.SOCK_STREAM),
    "socket(AF_INET6)": make(socket.AF_INET6, socket.SOCK_DGRAM),
    "socket(AF_UNIX)": make(socket.AF_UNIX, socket.SOCK_STREAM),
    "socket(AF_NETLINK, NETLINK_ROUTE)": make(16, socket.SOCK_RAW, 0),
}
print("RESULTS", json.dumps(results))
"""
EXPECTED_SURFACE = {
    "io_uring_setup": 1,
    "io_uring_enter": 1,
    "io_uring_register": 1,
    "memfd_secret": 1,
    "modify_ldt": 1,
    "sched_setaffinity": 1,
    "process_madvise": 1,
    "userfaultfd": 1,
    "uselib": 1,
    "fanotify_init": 1,
    "quotactl_fd": 1,
    "socketpair(AF_VSOCK)": 97,
    "socket(AF_VSOCK)": 97,
    "socket(AF_PACKET)": 97,
    "socket(AF_NETLINK, NETLINK_AUDIT)": 97,
    "socket(AF_BLUETOOTH)": 97,
    "socket(AF_ALG)": 97,
    "socket(AF_INET)": "allowed",
    "socket(AF_INET6)": "allowed",
    "socket(AF_UNIX)": "allowed",
    "socket(AF_NETLINK, NETLINK_ROUTE)": "allowed",
}


def test_vsock_other_families_and_io_uring_are_denied_inet_unix_and_route_stay(config, tmp_path):
    """vsock is not namespaced (a build once bound a vsock port the host then could not);
    io_uring runs operations seccomp never sees. Both answer errors from the filter."""
    if platform.machine() != "x86_64":
        pytest.skip("system call numbers of x86_64")
    outcome, output = run_in_sandbox(config, tmp_path, ["python3", "-c", SURFACE_PROBE])
    assert outcome.exit_code == 0, output
    assert results_of(output) == EXPECTED_SURFACE


FILESYSTEMS_PROBE = """
import errno, json, os
results = {}
for directory in ("/", "/etc", "/var", "/build", "/dev", "/dev/shm", "/tmp", "/build/src"):
    path = os.path.join(directory, "fill")
    written = 0
    try:
        with open(path, "wb") as out:
            for _ in range(12):
                out.write(b"x" * 1024 * 1024)
                out.flush()
                written += 1
        results[directory] = "12 MB written"
    except OSError as exc:
        results[directory] = f"{errno.errorcode[exc.errno]} after {written} MB"
    if os.path.exists(path):
        os.unlink(path)
mounts = [line.split() for line in open("/proc/self/mountinfo")]
unsized = [
    row[4] for row in mounts
    if row[row.index("-") + 1] == "tmpfs" and "rw" in row[5].split(",")
    and not any(option.startswith("size=") for option in row[-1].split(","))
]
results["writable tmpfs without a size"] = unsized
print("RESULTS", json.dumps(results))
"""


def test_every_writable_filesystem_is_sized_and_the_rest_read_only(config, tmp_path):
    """tmpfs is memory: /dev/shm, /, /etc, /var and /build each once took 400 MB."""
    sized = config.with_changes(limits__tmp_mb=8, limits__shm_mb=4)
    outcome, output = run_in_sandbox(sized, tmp_path, ["python3", "-c", FILESYSTEMS_PROBE])
    assert outcome.exit_code == 0, output
    results = results_of(output)
    assert results.pop("writable tmpfs without a size") == []
    assert results == {
        "/": "EROFS after 0 MB",
        "/etc": "EROFS after 0 MB",
        "/var": "EROFS after 0 MB",
        "/build": "EROFS after 0 MB",
        "/dev": "EROFS after 0 MB",
        "/dev/shm": "ENOSPC after 4 MB",
        "/tmp": "ENOSPC after 8 MB",
        "/build/src": "12 MB written",  # on disk, under the workspace's quota
    }


def test_memory_filesystems_must_fit_the_builds_memory(config):
    too_big = config.with_changes(
        limits__tmp_mb=1024, limits__shm_mb=64, limits__address_space_mb=1000
    )
    error = Sandbox(too_big).error
    assert "ARENA_BUILD_TMP_MB + 2 x ARENA_BUILD_SHM_MB" in error
    assert "(/dev/shm and System V shared memory: 1152 MB) exceed the build's memory" in error
    assert "ARENA_BUILD_MAX_MEMORY_MB (1000 MB); refusing to build" in error
    assert "must be at least 1" in Sandbox(config.with_changes(limits__shm_mb=0)).error
    assert Sandbox(config.with_changes(limits__address_space_mb=0)).error == ""  # unlimited


SYSTEM_V_PROBE = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_PRIVATE, MB = 0, 1024 * 1024

def segment(size):
    ctypes.set_errno(0)
    return libc.shmget(IPC_PRIVATE, ctypes.c_size_t(size), 0o600) != -1 or ctypes.get_errno()

print("ONE OF 5 MB", segment(5 * MB))
made = 0
while made < 64 and (result := segment(MB)) is True:
    made += 1
print("SEGMENTS OF 1 MB", made, "THEN", result)
queues = 0
while queues < 64 and libc.msgget(IPC_PRIVATE, 0o600) != -1:
    queues += 1
print("QUEUES", queues)
"""


def test_system_v_shared_memory_is_bounded_like_dev_shm(config, tmp_path):
    """A new IPC namespace lets a build hold practically unlimited System V shared memory."""
    sized = config.with_changes(limits__shm_mb=4)
    outcome, output = run_in_sandbox(sized, tmp_path, ["python3", "-c", SYSTEM_V_PROBE])
    assert outcome.exit_code == 0, output
    assert "ONE OF 5 MB 22" in output  # EINVAL: above kernel.shmmax
    assert "SEGMENTS OF 1 MB 4 THEN 28" in output  # ENOSPC: kernel.shmall reached
    assert "QUEUES 16" in output


AFFINITY_PROBE = """
import os
before = sorted(os.sched_getaffinity(0))
try:
    os.sched_setaffinity(0, range(os.cpu_count()))
    print("WIDENED")
except OSError as exc:
    print("REFUSED", exc.errno)
print("CPUS", before, sorted(os.sched_getaffinity(0)))
"""


def test_a_build_pinned_to_its_cpus_cannot_widen_them(config, tmp_path):
    """Parallel mode gives each side its own CPUs; a side once took both."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs to pin a build to one of them")
    cpu = min(os.sched_getaffinity(0))
    outcome, output = run_in_sandbox(
        config, tmp_path, ["python3", "-c", AFFINITY_PROBE], cpus={cpu}
    )
    assert outcome.exit_code == 0, output
    assert "REFUSED 1" in output and "WIDENED" not in output
    assert f"CPUS [{cpu}] [{cpu}]" in output
