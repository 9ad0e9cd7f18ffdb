"""How bubblewrap is started: its arguments through a descriptor, the memory files it reads
(the seccomp program among them), the remounts that close the sandbox's own filesystems, and
the bound on their memory.

The build can read bubblewrap's argv as /proc/1/cmdline (bubblewrap is the sandbox's PID 1),
so every option, with its host paths and descriptor numbers, goes through `--args` instead:
its argv is then `bwrap --args 200 -- <command>`, the same on both sides.
"""

import functools
import os
import subprocess
from pathlib import Path

from workers.engine.measuring.process import LaunchError

# The system's Python, where Debian's python3-seccomp lives (the project's venv may differ).
SECCOMP_PYTHON = "/usr/bin/python3"
SECCOMP_SCRIPT = Path(__file__).with_name("seccomp_filter.py")

# bubblewrap reads its arguments from this descriptor: one number on both sides.
ARGS_FD = 200
# Moves the argument file to ARGS_FD and runs bubblewrap (bash: dash takes fds 0-9 only);
# `env -u` drops the PWD (a host path) and SHLVL bash exports, leaving the build's own.
ARGS_SHIM = (
    "/bin/bash",
    "-c",
    'exec /usr/bin/env -u PWD -u SHLVL "$@" {target}<&{fd} {fd}<&-',
    "arena-sandbox",
)
# Last of all mounts: the root tmpfs (/, /etc, /var, /build) and /dev become read-only, so
# the sized /tmp and /dev/shm and the bound source and home are all a build can write.
SEAL_ARGS = ("--remount-ro", "/dev", "--remount-ro", "/")


def keep_off_args_fd(fds):
    """Move any of `fds` (name -> descriptor) off ARGS_FD, which the shim overwrites."""
    for name, fd in list(fds.items()):
        if fd == ARGS_FD:
            fds[name] = os.dup(fd)  # the lowest free number, never ARGS_FD (still open here)
            os.close(fd)


def args_shim(fd):
    """The argv prefix that puts descriptor `fd` at ARGS_FD for bubblewrap's --args."""
    if fd == ARGS_FD:
        return []
    program, flag, script, name = ARGS_SHIM
    return [program, flag, script.format(target=ARGS_FD, fd=fd), name]


def data_fd(data):
    """A memory file holding `data`, for bubblewrap's --ro-bind-data and --seccomp."""
    fd = os.memfd_create("arena-sandbox", os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def memory_filesystems_error(config):
    """Why the build's shared memory (/tmp, /dev/shm, System V segments) cannot be allowed,
    or "".

    /tmp and /dev/shm are tmpfs, so memory, and System V shared memory gets the size of
    /dev/shm (limit_shared_memory); sized 0 a tmpfs would be unlimited, and together they must
    fit the build's memory setting (ARENA_BUILD_MAX_MEMORY_MB), or a build could hold more."""
    sizes = {"ARENA_BUILD_TMP_MB": config.limits.tmp_mb, "ARENA_BUILD_SHM_MB": config.limits.shm_mb}
    unsized = [name for name, size in sizes.items() if size <= 0]
    if unsized:
        return f"{' and '.join(unsized)} must be at least 1 (a tmpfs is memory); refusing to build"
    memory, total = config.limits.address_space_mb, config.limits.tmp_mb + 2 * config.limits.shm_mb
    if memory and total > memory:
        return (
            f"ARENA_BUILD_TMP_MB + 2 x ARENA_BUILD_SHM_MB (/dev/shm and System V shared memory: "
            f"{total} MB) exceed the build's memory, ARENA_BUILD_MAX_MEMORY_MB ({memory} MB); "
            "refusing to build"
        )
    return ""


def limit_shared_memory(child_pid, shm_mb, owner):
    """Bound System V IPC in the build's IPC namespace (needs root): its shared memory to
    `shm_mb` in all, like /dev/shm, and 16 message queues. A new IPC namespace starts with
    practically unlimited shared memory (kernel.shmall) and 32,000 queues of 16 KB.

    The kernel lets only the namespace's root write these: host root until bubblewrap has
    mapped its user namespace, the build account (`owner`, (uid, gid)) from then on; when the
    first fails, the other holds."""
    size = shm_mb * 1024 * 1024
    settings = {"shmmax": size, "shmall": size // os.sysconf("SC_PAGE_SIZE"), "msgmni": 16}
    script = "".join(
        f"echo {value} > /proc/sys/kernel/{name}\n" for name, value in settings.items()
    )
    enter = ["nsenter", f"--ipc=/proc/{child_pid}/ns/ipc", "--"]
    as_owner = ["setpriv", f"--reuid={owner[0]}", f"--regid={owner[1]}", "--clear-groups"]
    for prefix in ([], as_owner):
        try:
            result = subprocess.run(
                [*enter, *prefix, "sh", "-ec", script], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LaunchError(f"could not limit the build's shared memory: {exc}") from None
        if result.returncode == 0:
            return
    message = result.stderr.strip()[:300]
    raise LaunchError(f"could not limit the build's shared memory: {message}")


@functools.cache
def seccomp_program():
    """The compiled BPF of seccomp_filter.py, or raises LaunchError saying what is missing.

    Built by the system's Python, where Debian packages libseccomp's bindings; computed once
    per worker process."""
    try:
        result = subprocess.run(
            [SECCOMP_PYTHON, str(SECCOMP_SCRIPT)], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LaunchError(f"cannot build the seccomp filter with {SECCOMP_PYTHON}: {exc}") from None
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise LaunchError(
            "cannot build the seccomp filter (Debian's python3-seccomp for "
            f"{SECCOMP_PYTHON}; install it with bin/install-system-deps): {reason[0]}"
        )
    return result.stdout
