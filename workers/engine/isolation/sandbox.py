"""The sandbox every build runs in: bubblewrap as an unprivileged account, seccomp, limits.

Inside bubblewrap a build sees a read-only system (/usr and the few /etc files toolchains
need), its source at /build/src and its home at /build/home (both writable, nosuid, nodev),
a private sized /tmp and /dev/shm (the rest of its root and /dev read-only), its own PID,
IPC, UTS, cgroup, user and network namespaces, and nothing of the arena: not the project
directory, the database, the settings or the other side's workspace. Both sides see exactly
the same paths, user, environment and limits, and neither its mounts (random directory
names) nor bubblewrap's argv (options by descriptor, bwrap_args.py) name a side. bubblewrap
dies with its parent and takes the PID namespace (every process of the build) with it.

Kernel surface: the user namespace belongs to the build account (identity.py), never to root;
/proc/sys is read-only; a seccomp filter (seccomp_filter.py, compiled by libseccomp) denies
mount, every new namespace (nested user namespaces included: bubblewrap's --disable-userns
would nest a second user namespace that slirp4netns cannot join to reach the network
namespace), ptrace, keyrings, BPF, perf, io_uring, kexec, reboot, module loading, CPU
affinity changes and every socket family but unix, inet, inet6 and route netlink. Network
`on` is slirp4netns behind prohibit routes (network.py); `off` leaves loopback only.

Limits are rlimits applied by `prlimit` (address space, processes, file size, no core dumps),
the /tmp size, the disk quota of the side's source and home (quota.py), and CPU
pinning by `taskset`; each of them execs the next, so nothing runs in a forked Python child.

Fails closed: without bubblewrap, seccomp bindings or a way to drop root, no build runs and
the side fails naming what is missing. Only an explicit ARENA_SANDBOX=none runs builds
unsandboxed (still never as root).
"""

import contextlib
import os
import random
import shutil
import threading
from pathlib import Path

from workers.engine.failures import EnvironmentFailure
from workers.engine.isolation import quota
from workers.engine.isolation.bwrap_args import (
    ARGS_FD,
    SEAL_ARGS,
    args_shim,
    data_fd,
    keep_off_args_fd,
    limit_shared_memory,
    memory_filesystems_error,
    seccomp_program,
)
from workers.engine.isolation.identity import build_identity, reachable_by
from workers.engine.isolation.mounts import (
    BUILD_USER,
    SANDBOX_HOME,
    SANDBOX_SHM,
    SANDBOX_TMP,
    etc_files,
    mount_args,
)
from workers.engine.isolation.network import (
    NEEDS_ROOT,
    apply_route_policy,
    describe_blocked,
    read_info,
    start_slirp,
    stop_slirp,
    wait_for_loopback,
)
from workers.engine.measuring.process import Launch, LaunchError

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Environment passed from the arena to builds: nothing else (no SECRET_KEY, DATABASE_URL...).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ", "MAVEN_OPTS", "GRADLE_OPTS", "JAVA_OPTS")


def cgroup_v2_delegated():
    """True when this process's cgroup v2 directory lets it create children with memory and
    pids controllers (a delegated subtree). Not the case on cgroup v1/hybrid hosts."""
    if not Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return False
    try:
        rows = Path("/proc/self/cgroup").read_text().splitlines()
        line = next(row for row in rows if row.startswith("0::"))
        directory = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
        controllers = (directory / "cgroup.subtree_control").read_text().split()
    except (OSError, StopIteration):
        return False
    return {"memory", "pids"} <= set(controllers) and os.access(directory, os.W_OK)


class Sandbox:
    """Decides how builds run (bubblewrap or not, as whom) and turns commands into Launches."""

    def __init__(self, config):
        self.config = config
        self.error = ""
        self.warnings = []
        self.bwrap = None
        self.slirp = None
        self.seccomp = b""
        # A sandbox that cannot build keeps why in `error`: each side fails with it when it
        # starts, so that the race shows the reason on both terminals.
        try:
            self.identity, identity_error = build_identity(config.isolation.build_user), ""
        except EnvironmentFailure as failure:
            self.identity, identity_error = None, str(failure)
        if config.isolation.sandbox == "none":
            if config.isolation.require_sandbox:
                self.error = "ARENA_SANDBOX=none but ARENA_REQUIRE_SANDBOX=1: refusing to build"
            else:
                self.warnings.append("WARNING: sandbox disabled (ARENA_SANDBOX=none)")
        else:
            self.error = self._find_sandbox()
        self.error = self.error or identity_error

    def _find_sandbox(self):
        config = self.config
        self.bwrap = shutil.which(config.isolation.bwrap)
        if not self.bwrap:
            return (
                f"bubblewrap ({config.isolation.bwrap}) is not installed and every build needs the "
                "sandbox; refusing to build (install it with bin/install-system-deps, or set "
                "ARENA_BWRAP to its path)"
            )
        if config.isolation.network == "on":
            if os.geteuid() != 0:
                return NEEDS_ROOT
            self.slirp = shutil.which(config.isolation.slirp4netns)
            if not self.slirp:
                return (
                    f"slirp4netns ({config.isolation.slirp4netns}) is not installed and the build "
                    "network is on; refusing to build (install it, or set ARENA_BUILD_NETWORK=off)"
                )
        try:
            self.seccomp = seccomp_program()
        except LaunchError as exc:
            return str(exc)
        return memory_filesystems_error(config)

    def workspace_error(self, path):
        """Why the build account cannot reach `path` (bubblewrap opens it as that user)."""
        if self.identity is None:
            return ""
        blocked = reachable_by(path, self.identity)
        if blocked is None:
            return ""
        return (
            f"the build account {self.identity.describe()} cannot reach the workspace: "
            f"{blocked} is not searchable by it (give it o+x, or choose another "
            "ARENA_WORKSPACE_ROOT)"
        )

    def limits_report(self):
        """One line saying which limits are in force (identical for both sides)."""
        config = self.config

        def mb(value):
            return f"{value} MB" if value else "unlimited"

        parts = [
            f"as {self.identity.describe()}" if self.identity else "",
            f"processes {config.limits.processes or 'unlimited'} (RLIMIT_NPROC of that account)",
            f"address space {mb(config.limits.address_space_mb)}",
            f"file size {mb(config.limits.file_size_mb)}",
            quota.describe(config.limits.disk_mb, config.limits.inodes),
        ]
        if self.bwrap:
            parts.append(
                f"{SANDBOX_TMP} {mb(config.limits.tmp_mb)}, "
                f"{SANDBOX_SHM} {mb(config.limits.shm_mb)}"
            )
            parts.append("seccomp filter, no nested user namespaces, /proc/sys read-only")
        if cgroup_v2_delegated():
            parts.append("cgroup v2: delegated but not used by this engine")
        else:
            parts.append("cgroup v2 memory/pids: not in force (not delegated on this host)")
        if self.slirp:
            blocked = describe_blocked(config.isolation.allow_private_nets)
            parts.append(f"network: blocked {blocked}")
        elif self.bwrap:
            parts.append("network: off")
        return "limits: " + "; ".join(part for part in parts if part)

    def environment(self, home, tmp_dir, java_home=None, jdk_on_path=True):
        """The build's whole environment: an allow-list plus what the arena sets itself.
        `jdk_on_path` False: the JDK is JAVA_HOME only (a tool with its own runtime)."""
        env = {name: os.environ[name] for name in ENV_ALLOW if name in os.environ}
        allowed = self.config.isolation.env_allow
        env.update({name: os.environ[name] for name in allowed if name in os.environ})
        path = SYSTEM_PATH
        java_home = java_home or self.config.toolchains.java_home or os.environ.get("JAVA_HOME", "")
        if java_home:
            env["JAVA_HOME"] = java_home
            if jdk_on_path:
                path = f"{java_home}/bin:{path}"
        env.update(
            {
                "PATH": path,
                "HOME": str(home),
                "USER": BUILD_USER,
                "LOGNAME": BUILD_USER,
                "TMPDIR": str(tmp_dir),
                "TERM": "dumb",
                "GRADLE_USER_HOME": str(Path(home) / ".gradle"),
                "MAVEN_OPTS": f"{env.get('MAVEN_OPTS', '')} -Duser.home={home}".strip(),
            }
        )
        env.setdefault("LANG", "C.UTF-8")
        return env

    def launch(
        self,
        argv,
        *,
        workdir,
        home,
        side_dir,
        cpus=None,
        ro_paths=(),
        watch=None,
        java_home=None,
        jdk_on_path=True,
    ):
        """A Launch of `argv` in `workdir`; `side_dir` holds the side's private files.
        `java_home` (the JDK chosen for the project) is shown read-only and is JAVA_HOME."""
        ro_paths = [*ro_paths, java_home] if java_home else ro_paths
        if self.identity is None:
            raise LaunchError(self.error)
        drop = list(self.identity.drop)
        prefix = [*drop, *self._limits_prefix(cpus)]
        if not self.bwrap:
            tmp_dir = Path(side_dir) / "tmp"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            os.chown(tmp_dir, self.identity.uid, self.identity.gid)
            env = self.environment(home, tmp_dir, java_home, jdk_on_path)
            return Launch([*prefix, *argv], cwd=str(workdir), env=env, watch=watch)
        env = self.environment(SANDBOX_HOME, SANDBOX_TMP, java_home, jdk_on_path)
        fds = {}
        data_args = []
        for name, data in etc_files(slirp_dns=bool(self.slirp)).items():
            fds[name] = data_fd(data)
            data_args += ["--ro-bind-data", str(fds[name]), f"/etc/{name}"]
        fds["seccomp"] = data_fd(self.seccomp)
        fds["info_r"], fds["info_w"] = os.pipe()
        fds["block_r"], fds["block_w"] = os.pipe()
        keep_off_args_fd(fds)
        bwrap_args = [
            *mount_args(self.config, workdir, home, ro_paths),
            *data_args,
            *SEAL_ARGS,
            "--seccomp",
            str(fds["seccomp"]),
            "--info-fd",
            str(fds["info_w"]),
            "--block-fd",
            str(fds["block_r"]),
        ]
        fds["args"] = data_fd(b"".join(os.fsencode(arg) + b"\0" for arg in bwrap_args))
        bwrap_argv = [*args_shim(fds["args"]), self.bwrap, "--args", str(ARGS_FD), "--", *argv]
        child_fds = tuple(fd for name, fd in fds.items() if name not in ("info_r", "block_w"))
        state = {"slirp": None}
        lock = threading.Lock()

        def close_fd(name):
            with lock:
                fd = fds.pop(name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

        def on_spawn(proc):
            for name in list(fds):
                if name not in ("info_r", "block_w"):
                    close_fd(name)
            info = read_info(fds["info_r"])
            if info is None:
                return  # bubblewrap failed; its message arrives on the output pipe
            if os.geteuid() == 0:
                owner = (self.identity.uid, self.identity.gid)
                limit_shared_memory(info["child-pid"], self.config.limits.shm_mb, owner)
            if self.slirp:
                if not wait_for_loopback(info["child-pid"]):
                    return  # the sandbox died during its setup; its message is on the output
                state["slirp"], fds["exit_w"] = start_slirp(self.slirp, info["child-pid"])
                apply_route_policy(info["child-pid"], self.config.isolation.allow_private_nets)
            with contextlib.suppress(BrokenPipeError):  # it died: its message is on the output
                os.write(fds["block_w"], b"1")
            close_fd("block_w")

        def on_close():
            for name in list(fds):
                close_fd(name)
            if state["slirp"] is not None:
                stop_slirp(state["slirp"])

        return Launch(
            [*prefix, *bwrap_argv],
            cwd=str(workdir),
            env=env,
            pass_fds=child_fds,
            on_spawn=on_spawn,
            on_close=on_close,
            blocks=True,
            watch=watch,
            reaped_inside=True,
        )

    def _limits_prefix(self, cpus):
        prefix = []
        if cpus:
            prefix += ["taskset", "--cpu-list", ",".join(str(cpu) for cpu in sorted(cpus))]
        limits = []
        if self.config.limits.address_space_mb:
            limits.append(f"--as={self.config.limits.address_space_mb * 1024 * 1024}")
        if self.config.limits.processes:
            limits.append(f"--nproc={self.config.limits.processes}")
        if self.config.limits.file_size_mb:
            limits.append(f"--fsize={self.config.limits.file_size_mb * 1024 * 1024}")
        prefix += ["prlimit", "--core=0", *limits, "--"]
        return prefix


def side_sandboxes(sandbox, sides, parallel):
    """{side: Sandbox}: one for both sides, unless they build at once (parallel mode).

    Then each side runs as its own account (ARENA_BUILD_USER, ARENA_PARALLEL_BUILD_USER), so
    that one side's processes never count against the other's RLIMIT_NPROC; which side gets
    which account is drawn per race, so that the account's numbers (the owner of the build's
    tmpfs mounts, in its mountinfo) tell no side."""
    if not parallel:
        return dict.fromkeys(sides, sandbox)
    config = sandbox.config
    pair = [
        sandbox,
        Sandbox(config.with_changes(isolation__build_user=config.isolation.parallel_build_user)),
    ]
    random.SystemRandom().shuffle(pair)
    return dict(zip(sides, pair, strict=True))
