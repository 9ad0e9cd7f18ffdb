"""Disk quotas the kernel enforces: each part of a race on a filesystem of its own.

A root worker gives the race's checkout, and each side's source, home and scratch, an ext4
filesystem image of ARENA_BUILD_MAX_DISK_MB with ARENA_BUILD_MAX_INODES inodes, loop-mounted
nosuid,nodev under the race's directory. The kernel then refuses (ENOSPC) the write, the
preallocation or the directory past the limit the moment it is reached, whatever the build
does: files unlinked while still open, `fallocate`, many empty files or directories all count.
An image is sparse (it takes on the host only what is written into it), has no journal and
no blocks reserved for root (the build's quota is the whole filesystem), and is removed with
the race; a worker killed mid-race leaves mounts that the next race's housekeeping unmounts.

A worker that is not root (or has no mkfs.ext4) cannot mount: its quota is the walk of the
tree every few seconds (side.py, `Workspace.disk_usage`), which stops a build past the limit
with a clear message but cannot see what a tree does not show; the limits line says so.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

BLOCK_SIZE = 4096
# A filesystem with less free space than this after (or during) a build was filled by it.
FULL_MARGIN_BYTES = 1024 * 1024
COMMAND_TIMEOUT = 120
# noinit_itable: the image is sparse, its inode tables already read as zeros; the kernel need
# not write them out in the background.
MOUNT_OPTIONS = "loop,nosuid,nodev,noatime,noinit_itable"
# The kernel writes a space in a mount point as \040 (octal escapes) in mountinfo.
_OCTAL_ESCAPE = re.compile(rb"\\([0-7]{3})")


class QuotaError(Exception):
    """A quota filesystem could not be made, mounted or unmounted."""


def kernel_quota_available():
    """True when this worker can give races filesystems of their own (root, mkfs.ext4)."""
    return os.geteuid() == 0 and bool(shutil.which("mkfs.ext4")) and bool(shutil.which("mount"))


def inode_limit(max_disk_mb, max_inodes):
    """The inodes of a filesystem of `max_disk_mb` MB: ARENA_BUILD_MAX_INODES (0: one per
    16 KiB, mkfs's own ratio), at most one per 2 KiB (inode tables then take an eighth)."""
    size = max_disk_mb * 1024 * 1024
    return max(min(max_inodes or size // 16384, size // 2048), 1024)


def describe(max_disk_mb, max_inodes):
    """How the disk quota is enforced, for the limits line every side prints."""
    if not max_disk_mb:
        return "disk unlimited"
    if kernel_quota_available():
        inodes = inode_limit(max_disk_mb, max_inodes)
        return (
            f"disk {max_disk_mb} MB and {inodes:,} inodes (source, home and scratch: "
            "a filesystem of their own, ENOSPC at the limit)"
        )
    why = "not root" if os.geteuid() != 0 else "no mkfs.ext4 or mount: install e2fsprogs, mount"
    return f"disk {max_disk_mb} MB (source and home, walked every few seconds: {why})"


def _run(argv):
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QuotaError(f"{argv[0]} failed: {exc}") from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
        raise QuotaError(f"{argv[0]} failed: {message[0][:300]}")


def make_volume(image, mountpoint, *, size_mb, inodes, owner=(0, 0), mode=0o711):
    """Create a sparse ext4 image of `size_mb` MB and `inodes` inodes at `image` and mount it
    on `mountpoint` (made here); its root directory belongs to `owner` with `mode`."""
    image, mountpoint = Path(image), Path(mountpoint)
    fd = os.open(image, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, size_mb * 1024 * 1024)
    finally:
        os.close(fd)
    uid, gid = owner
    _run(
        [
            "mkfs.ext4", "-q", "-F", "-m", "0", "-b", str(BLOCK_SIZE), "-N", str(inodes),
            "-O", "^has_journal", "-E", f"root_owner={uid}:{gid}", str(image),
        ]
    )  # fmt: skip
    mountpoint.mkdir(mode=0o700)
    _run(["mount", "-t", "ext4", "-o", MOUNT_OPTIONS, str(image), str(mountpoint)])
    os.rmdir(mountpoint / "lost+found")
    os.chmod(mountpoint, mode)
    return mountpoint


def mounts_under(root):
    """Mount points at or below `root` (deepest first), from this process's mount table."""
    root = os.path.realpath(root)
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_bytes().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split(b" ")
        if len(fields) < 5:
            continue
        point = os.fsdecode(_OCTAL_ESCAPE.sub(lambda m: bytes([int(m[1], 8)]), fields[4]))
        if point == root or point.startswith(root.rstrip("/") + "/"):
            found.append(point)
    return sorted(set(found), key=lambda point: point.count("/"), reverse=True)


def unmount_all(root):
    """Unmount every filesystem at or below `root`; a busy one is detached lazily (it goes
    once its last user has). Raises QuotaError when one cannot be unmounted at all."""
    for point in mounts_under(root):
        try:
            _run(["umount", point])
        except QuotaError:
            _run(["umount", "--lazy", point])


def quota_reached(path, max_disk_mb, max_inodes):
    """The message for a filesystem the build filled (no inodes or almost no blocks left),
    else ""."""
    try:
        info = os.statvfs(path)
    except OSError:
        return ""
    if info.f_favail == 0:
        return f"inode quota reached: {max_inodes:,} files and directories (ARENA_BUILD_MAX_INODES)"
    if info.f_bavail * info.f_frsize < FULL_MARGIN_BYTES:
        return f"disk quota reached: {max_disk_mb} MB (ARENA_BUILD_MAX_DISK_MB)"
    return ""
