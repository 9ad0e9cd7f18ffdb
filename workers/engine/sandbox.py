"""The sandbox every build runs in: bubblewrap, a private network, rlimits, a scrubbed environment.

Inside bubblewrap a build sees a read-only system (/usr and the few /etc files toolchains
need), its own workspace and home (writable), a private /tmp, its own PID, IPC, UTS, user and
network namespaces, and nothing of the arena: not the project directory, the database file,
the settings or the other side's workspace. bubblewrap dies with its parent and takes the
PID namespace (so every process of the build) with it.

Network `on` gives the build a separate network namespace wired to the outside by
`slirp4netns --disable-host-loopback`: outside hosts are reachable, the host's 127.0.0.1
(database, web app) is not. Network `off` leaves it with loopback only.

Limits are rlimits applied by `prlimit` (address space, processes, file size, no core dumps),
CPU pinning by `taskset`; both exec the sandbox, so nothing runs in a forked Python child.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

from workers.engine.process import Launch, LaunchError

BUILD_UID = 1000
BUILD_USER = "builder"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Top-level system paths: mirrored as symlinks (merged /usr) or bound read-only.
SYSTEM_ROOTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /etc entries toolchains need (JDK config, alternatives symlinks, TLS roots, name service).
ETC_ENTRIES = (
    "alternatives",
    "maven",
    "gradle",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "hosts",
    "protocols",
    "services",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "mime.types",
)
# Environment passed from the arena to builds: nothing else (no SECRET_KEY, DATABASE_URL...).
ENV_ALLOW = ("LANG", "LC_ALL", "TZ", "MAVEN_OPTS", "GRADLE_OPTS", "JAVA_OPTS")
SLIRP_READY_TIMEOUT = 10.0


class Sandbox:
    """Decides how builds run (bubblewrap or not) and turns commands into `Launch`es."""

    def __init__(self, config):
        self.config = config
        self.bwrap = shutil.which(config.bwrap) if config.sandbox != "none" else None
        self.slirp = shutil.which(config.slirp4netns) if config.network == "on" else None
        self.error = ""
        self.warnings = []
        if config.sandbox == "none":
            if config.require_sandbox:
                self.error = "ARENA_SANDBOX=none but ARENA_REQUIRE_SANDBOX=1: refusing to build"
            else:
                self.warnings.append("WARNING: sandbox disabled (ARENA_SANDBOX=none)")
        elif not self.bwrap:
            if config.sandbox == "bwrap" or config.require_sandbox:
                self.error = (
                    f"bubblewrap ({config.bwrap}) is not installed and a sandbox is required; "
                    "refusing to build without it"
                )
            else:
                self.warnings.append(
                    "WARNING: bubblewrap is not installed; this build runs WITHOUT a sandbox"
                )
        if self.bwrap and config.network == "on" and not self.slirp:
            self.warnings.append(
                "WARNING: slirp4netns is not installed; this build runs with no network"
            )

    @property
    def sandboxed(self):
        return bool(self.bwrap)

    def describe(self):
        if not self.bwrap:
            return "none"
        network = "slirp4netns" if self.slirp else "off"
        return f"bubblewrap, network {network}"

    def environment(self, home, tmp_dir, java_home=None):
        """The build's whole environment: an allow-list plus what the arena sets itself."""
        env = {name: os.environ[name] for name in ENV_ALLOW if name in os.environ}
        env.update({name: os.environ[name] for name in self.config.env_allow if name in os.environ})
        path = SYSTEM_PATH
        java_home = java_home or self.config.java_home or os.environ.get("JAVA_HOME", "")
        if java_home:
            env["JAVA_HOME"] = java_home
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

    def launch(self, argv, *, workdir, home, side_dir, cpus=None, ro_paths=(), java_home=None):
        """A Launch of `argv` in `workdir`; `side_dir` holds private files (etc, tmp).
        `java_home` (the race's chosen JDK) is shown read-only and set as JAVA_HOME."""
        side_dir = Path(side_dir)
        prefix = self._limits_prefix(cpus)
        if not self.bwrap:
            tmp_dir = side_dir / "tmp"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            env = self.environment(home, tmp_dir, java_home)
            return Launch([*prefix, *argv], cwd=str(workdir), env=env)
        env = self.environment(home, "/tmp", java_home)  # noqa: S108 (a private tmpfs)
        etc_dir = self._write_etc(side_dir, home)
        ro_paths = [*ro_paths, java_home] if java_home else ro_paths
        info_r, info_w = os.pipe()
        block_r, block_w = os.pipe()
        bwrap_argv = [
            self.bwrap,
            *self._bwrap_args(workdir, home, etc_dir, ro_paths),
            "--info-fd",
            str(info_w),
            "--block-fd",
            str(block_r),
            "--",
            *argv,
        ]
        fds = {"info_r": info_r, "info_w": info_w, "block_r": block_r, "block_w": block_w}
        state = {"slirp": None}

        def close_fd(name):
            fd = fds.pop(name, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

        def on_spawn(proc):
            close_fd("info_w")
            close_fd("block_r")
            if self.slirp:
                info = _read_info(fds["info_r"])
                if info is None:
                    return  # bubblewrap failed; its message arrives on the output pipe
                if not _wait_for_loopback(info["child-pid"]):
                    return  # the sandbox died during its setup; its message is on the output
                state["slirp"], fds["exit_w"] = self._start_slirp(info["child-pid"])
            with contextlib.suppress(BrokenPipeError):  # it died: its message is on the output
                os.write(fds["block_w"], b"1")
            close_fd("block_w")

        def on_close():
            for name in list(fds):
                close_fd(name)
            slirp = state["slirp"]
            if slirp is not None:
                with contextlib.suppress(ProcessLookupError):
                    slirp.send_signal(signal.SIGTERM)
                try:
                    slirp.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    slirp.kill()
                    slirp.wait()

        return Launch(
            [*prefix, *bwrap_argv],
            cwd=str(workdir),
            env=env,
            pass_fds=(info_w, block_r),
            on_spawn=on_spawn,
            on_close=on_close,
            blocks=True,
        )

    def _limits_prefix(self, cpus):
        prefix = []
        if cpus:
            prefix += ["taskset", "--cpu-list", ",".join(str(cpu) for cpu in sorted(cpus))]
        limits = []
        if self.config.max_address_space_mb:
            limits.append(f"--as={self.config.max_address_space_mb * 1024 * 1024}")
        if self.config.max_processes:
            limits.append(f"--nproc={self.config.max_processes}")
        if self.config.max_file_size_mb:
            limits.append(f"--fsize={self.config.max_file_size_mb * 1024 * 1024}")
        prefix += ["prlimit", "--core=0", *limits, "--"]
        return prefix

    def _bwrap_args(self, workdir, home, etc_dir, ro_paths):
        args = [
            "--unshare-all",
            "--unshare-user",
            "--uid",
            str(BUILD_UID),
            "--gid",
            str(BUILD_UID),
            "--hostname",
            "arena-build",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
        ]
        for root in SYSTEM_ROOTS:
            path = Path(root)
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), root]
            elif path.is_dir():
                args += ["--ro-bind", root, root]
        # Private, empty temporary directories (tmpfs inside the sandbox only).
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]  # noqa: S108
        args += ["--dir", "/etc"]
        etc_names = list(ETC_ENTRIES) + sorted(
            entry.name for entry in Path("/etc").glob("java*") if entry.exists()
        )
        for name in etc_names:
            if os.path.lexists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for name in ("passwd", "group", "resolv.conf"):
            if (etc_dir / name).exists():
                args += ["--ro-bind", str(etc_dir / name), f"/etc/{name}"]
        extra = [self.config.java_home, *self.config.extra_ro_binds, *ro_paths]
        for path in dict.fromkeys(str(p) for p in extra if p):
            if os.path.exists(path) and not _under_system(path):
                args += ["--ro-bind", path, path]
        args += ["--bind", str(home), str(home)]
        if not Path(workdir).is_relative_to(home):
            args += ["--bind", str(workdir), str(workdir)]
        args += ["--chdir", str(workdir)]
        return args

    def _write_etc(self, side_dir, home):
        etc_dir = side_dir / "etc"
        etc_dir.mkdir(parents=True, exist_ok=True)
        (etc_dir / "passwd").write_text(
            f"{BUILD_USER}:x:{BUILD_UID}:{BUILD_UID}:Build:{home}:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        )
        (etc_dir / "group").write_text(f"{BUILD_USER}:x:{BUILD_UID}:\nnogroup:x:65534:\n")
        if self.slirp:
            # slirp4netns answers DNS on 10.0.2.3 and forwards to the host's resolver.
            (etc_dir / "resolv.conf").write_text("nameserver 10.0.2.3\n")
        return etc_dir

    def _start_slirp(self, child_pid):
        ready_r, ready_w = os.pipe()
        exit_r, exit_w = os.pipe()
        try:
            slirp = subprocess.Popen(
                [
                    self.slirp,
                    "--configure",
                    "--mtu=65520",
                    "--disable-host-loopback",
                    "--ready-fd",
                    str(ready_w),
                    "--exit-fd",
                    str(exit_r),
                    *_slirp_target(child_pid),
                    "tap0",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(ready_w, exit_r),
                start_new_session=True,
            )
        finally:
            os.close(ready_w)
            os.close(exit_r)
        try:
            ready, _, _ = select.select([ready_r], [], [], SLIRP_READY_TIMEOUT)
            if not ready or os.read(ready_r, 1) != b"1":
                slirp.kill()
                slirp.wait()
                os.close(exit_w)
                raise LaunchError("could not set up the build's network (slirp4netns failed)")
        finally:
            os.close(ready_r)
        return slirp, exit_w


def _read_info(fd):
    """bubblewrap's --info-fd JSON ({"child-pid": ...}), or None when it exited first."""
    data = b""
    while True:
        ready, _, _ = select.select([fd], [], [], SLIRP_READY_TIMEOUT)
        if not ready:
            raise LaunchError("bubblewrap did not start in time")
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        data += chunk
        with contextlib.suppress(ValueError):
            return json.loads(data)


def _wait_for_loopback(child_pid, timeout=SLIRP_READY_TIMEOUT):
    """Wait until bubblewrap has brought up the sandbox's loopback device.

    bubblewrap configures `lo` right after writing --info-fd; slirp4netns configuring tap0 in
    the same namespace at that moment makes bubblewrap's netlink request fail now and then
    ("loopback: Failed RTM_NEWADDR"). The local route of 127.0.0.1 exists once lo is up.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child_pid}/net/fib_trie") as trie:
                if "127.0.0.1" in trie.read():
                    return True
        except OSError:
            return False
        time.sleep(0.001)
    raise LaunchError("the sandbox did not set up its network in time")


def _slirp_target(child_pid):
    """How slirp4netns finds the build's network namespace.

    bubblewrap run by root creates the network namespace in the initial user namespace and
    the build's user namespace afterwards, so slirp4netns must enter the network namespace by
    path (joining the build's user namespace would leave it without rights over the network).
    Run by another user, everything belongs to the build's user namespace, which slirp4netns
    joins when given the PID.
    """
    if os.geteuid() == 0:
        return ["--netns-type=path", f"/proc/{child_pid}/ns/net"]
    return [str(child_pid)]


def _under_system(path):
    return any(Path(path).is_relative_to(root) for root in ("/usr", "/etc"))
