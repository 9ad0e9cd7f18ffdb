"""Walking and removing trees a hostile build made: iterative, never following a symlink.

A build can leave anything in its workspace: a directory chain thousands of levels deep (its
paths longer than PATH_MAX, deeper than Python's recursion limit, which `shutil.rmtree` of
Python 3.11 hits), read-only or unreadable directories, names with newlines or invalid UTF-8,
symlinks to the host's files. Everything here works on directory file descriptors, one level
at a time: it descends with `openat(name, O_NOFOLLOW)`, climbs back with `openat("..")` and
checks that it arrived where it came from (device and inode), so it holds two descriptors at
any depth, never resolves a long path and never leaves the tree it was given.
"""

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TreeChanged(OSError):
    """A directory moved while it was walked (a running build renamed it)."""


@dataclass
class TreeUsage:
    bytes: int = 0
    files: int = 0
    # Files and directories below the root: what the tree costs in inodes.
    inodes: int = 0
    depth: int = 0
    # True when the walk stopped early (a cap was reached or the tree moved under it).
    stopped: bool = False


def _open_child(parent_fd, name, writable):
    if writable:
        # A build may leave directories without write or search permission (a worker that is
        # not root needs them to empty them). The entry was seen as a directory, not a symlink.
        with contextlib.suppress(OSError):
            os.chmod(name, 0o700, dir_fd=parent_fd)
    return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)


def _climb(fd, expected):
    """Open the parent of directory `fd`, which must be `expected` (st_dev, st_ino)."""
    parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
    found = os.fstat(parent)
    if (found.st_dev, found.st_ino) != expected:
        os.close(parent)
        raise TreeChanged("a directory moved while the tree was walked")
    return parent


def _walk(path, on_entry, on_leave, writable=False, stop=lambda depth: False, trail=None):
    """Depth-first walk of directory `path`: `on_entry(dir_fd, entry)` for every non-directory
    entry, `on_leave(parent_fd, name)` once a subdirectory is done. `stop(depth)` ends it.
    `trail`, a list, holds the names (bytes) leading from `path` to the current directory."""
    fd = os.open(os.fsencode(path), _DIR_FLAGS)
    # One frame per level: the (dev, ino) of the directory and the names still to visit.
    frames = []
    try:
        while True:
            info = os.fstat(fd)
            subdirs = []
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(entry.name)
                    else:
                        on_entry(fd, entry)
            frames.append(((info.st_dev, info.st_ino), subdirs))
            if stop(len(frames)):
                return
            while frames and not frames[-1][1]:
                frames.pop()
                if not frames:
                    return
                parent = _climb(fd, frames[-1][0])
                os.close(fd)
                fd = parent
                if trail is not None:
                    trail.pop()
                on_leave(fd, frames[-1][1].pop())
            child = _open_child(fd, frames[-1][1][-1], writable)
            os.close(fd)
            fd = child
            if trail is not None:
                trail.append(os.fsencode(frames[-1][1][-1]))
    finally:
        os.close(fd)


def tree_usage(path, *, max_files=None, max_depth=None):
    """Bytes on disk, files and depth of a tree; stops early past `max_files`/`max_depth`."""
    usage = TreeUsage()

    def count(dir_fd, entry):
        with contextlib.suppress(OSError):
            usage.bytes += entry.stat(follow_symlinks=False).st_blocks * 512
        usage.files += 1
        usage.inodes += 1

    def leave(parent_fd, name):
        usage.inodes += 1

    def stop(depth):
        usage.depth = max(usage.depth, depth)
        too_deep = max_depth is not None and depth > max_depth
        too_many = max_files is not None and usage.files > max_files
        usage.stopped = too_deep or too_many
        return usage.stopped

    try:
        _walk(path, count, leave, stop=stop)
    except TreeChanged:
        usage.stopped = True
    except FileNotFoundError:
        pass
    return usage


def tree_summary(path):
    """(files, bytes, fingerprint) of a tree without following symlinks: equal fingerprints
    mean the same names, kinds and sizes, so runs can show they started from the same state.

    Any tree a build leaves is summed: names are bytes (invalid UTF-8 is fine), the walk is
    iterative (any depth), and the fingerprint does not depend on the order a filesystem
    lists a directory in (a sum of one digest per entry)."""
    files = size = 0
    fingerprint = 0
    trail = []

    def record(kind, name, value):
        nonlocal fingerprint
        relative = b"/".join([*trail, name])
        digest = hashlib.sha256(b"%s\0%s\0%s" % (kind, relative, value)).digest()
        fingerprint = (fingerprint + int.from_bytes(digest, "big")) % (1 << 256)

    def entry_seen(dir_fd, entry):
        nonlocal files, size
        name = os.fsencode(entry.name)
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                record(b"L", name, os.fsencode(os.readlink(entry.name, dir_fd=dir_fd)))
                return
        except OSError:
            return
        files += 1
        size += info.st_size
        record(b"F", name, b"%d" % info.st_size)

    def directory_done(parent_fd, name):
        record(b"D", os.fsencode(name), b"")

    with contextlib.suppress(FileNotFoundError):
        _walk(path, entry_seen, directory_done, trail=trail)
    return files, size, f"{fingerprint:064x}"[:12]


def remove_tree(path):
    """Remove `path` and everything under it (a symlink is removed, never followed)."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return

    def unlink(dir_fd, entry):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.name, dir_fd=dir_fd)

    def rmdir(parent_fd, name):
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(name, dir_fd=parent_fd)

    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    try:
        _walk(path, unlink, rmdir, writable=True)
    except FileNotFoundError:
        return  # removed meanwhile: another race cleaning the same abandoned workspace
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(path)


def chown_tree(path, uid, gid):
    """Give a tree (a fresh copy of a checkout) to the build account; symlinks themselves."""

    def give(dir_fd, entry):
        os.chown(entry.name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)

    def give_dir(parent_fd, name):
        os.chown(name, uid, gid, dir_fd=parent_fd, follow_symlinks=False)

    _walk(path, give, give_dir)
    os.chown(path, uid, gid, follow_symlinks=False)
