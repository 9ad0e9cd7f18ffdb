"""The filesystem a build sees inside bubblewrap: what is mounted where, and the generated
/etc files.

The same paths on both sides (nothing inside tells standard from elide): the system read-only
(/usr and the merged /bin, /lib* symlinks, a handful of /etc entries toolchains need), the
side's source at /build/src and its home at /build/home (both writable, nosuid, nodev), and a
private sized /tmp and /dev/shm. sandbox.py puts these options before the read-only remounts
(bwrap_args.SEAL_ARGS).
"""

import os
from pathlib import Path

BUILD_UID = 1000
BUILD_USER = "builder"
# The same paths on both sides: nothing inside tells standard from elide.
SANDBOX_SRC = "/build/src"
SANDBOX_HOME = "/build/home"
SANDBOX_TMP = "/tmp"  # noqa: S108 (a private tmpfs inside the sandbox)
SANDBOX_SHM = "/dev/shm"  # noqa: S108 (another, sized apart)
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


def mount_args(config, workdir, home, ro_paths):
    """bubblewrap's namespace, user and mount options for one build of `workdir` / `home`,
    with `ro_paths` (a toolchain outside /usr) shown read-only."""
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
    # bubblewrap mounts /proc/sys (and sysrq-trigger, irq, bus) read-only over its /proc.
    args += ["--proc", "/proc", "--dev", "/dev"]
    # --dev leaves /dev/shm an unsized directory of the root tmpfs: mount a sized one.
    shm_size = str(config.limits.shm_mb * 1024 * 1024)
    args += ["--perms", "1777", "--size", shm_size, "--tmpfs", SANDBOX_SHM]
    tmp_size = str(config.limits.tmp_mb * 1024 * 1024)
    args += ["--size", tmp_size, "--tmpfs", SANDBOX_TMP]
    args += ["--dir", "/var", "--symlink", "../tmp", "/var/tmp"]  # noqa: S108
    args += ["--dir", "/etc"]
    etc_names = list(ETC_ENTRIES) + sorted(
        entry.name for entry in Path("/etc").glob("java*") if entry.exists()
    )
    for name in etc_names:
        if os.path.lexists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    extra = [
        config.toolchains.java_home,
        *config.isolation.extra_ro_binds,
        *ro_paths,
    ]
    for path in dict.fromkeys(str(p) for p in extra if p):
        if os.path.exists(path) and not _under_system(path):
            args += ["--ro-bind", path, path]
    # Binds are nosuid,nodev: a setuid file a build makes is inert, in and out.
    args += ["--bind", str(home), SANDBOX_HOME, "--bind", str(workdir), SANDBOX_SRC]
    args += ["--chdir", SANDBOX_SRC]
    return args


def etc_files(slirp_dns):
    """{name: bytes} of the generated /etc files: the build's user and group, and with the
    slirp4netns network (`slirp_dns`) its resolver."""
    files = {
        "passwd": (
            f"{BUILD_USER}:x:{BUILD_UID}:{BUILD_UID}:Build:{SANDBOX_HOME}:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ),
        "group": f"{BUILD_USER}:x:{BUILD_UID}:\nnogroup:x:65534:\n",
    }
    if slirp_dns:
        # slirp4netns answers DNS on 10.0.2.3 and forwards to the host's resolver.
        files["resolv.conf"] = "nameserver 10.0.2.3\n"
    return {name: text.encode() for name, text in files.items()}


def _under_system(path):
    return any(Path(path).is_relative_to(root) for root in ("/usr", "/etc"))
