"""Reading and writing files of a submitted repository without trusting it.

A repository (and a build running in it) can plant symlinks anywhere: `pom.xml -> /etc/shadow`,
`src -> /`. The arena reads and edits such trees as root, so every path is opened one
component at a time relative to the directory before it, with O_NOFOLLOW, and only regular
files of bounded size are read. Nothing here ever follows a symlink.
"""

import contextlib
import os
import stat

# Larger files are not read at all: a project's build files and sources are small.
DEFAULT_MAX_BYTES = 1024 * 1024


class UnsafePath(Exception):
    """The path leaves the tree, crosses a symlink, is not a regular file, or is too large."""


def _parts(relative):
    parts = [part for part in str(relative).split("/") if part not in ("", ".")]
    if not parts or any(part == ".." for part in parts):
        raise UnsafePath(f"not a path inside the tree: {relative!r}")
    return parts


@contextlib.contextmanager
def _open_beneath(root, relative, flags):
    """An fd for `root/relative`, opened without following any symlink below `root`."""
    parts = _parts(relative)
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError as exc:
                raise UnsafePath(f"{relative}: {exc.strerror}") from None
            os.close(dir_fd)
            dir_fd = next_fd
        try:
            fd = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as exc:
            raise UnsafePath(f"{relative}: {exc.strerror}") from None
    finally:
        os.close(dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"{relative}: not a regular file")
        yield fd
    finally:
        os.close(fd)


def read_text(root, relative, max_bytes=DEFAULT_MAX_BYTES):
    """The file's text (UTF-8, undecodable bytes replaced), or None when it is missing,
    unsafe (symlink, not a regular file) or larger than `max_bytes`."""
    try:
        with _open_beneath(root, relative, os.O_RDONLY) as fd:
            if os.fstat(fd).st_size > max_bytes:
                return None
            data = os.read(fd, max_bytes + 1)
    except (UnsafePath, OSError):
        return None
    if len(data) > max_bytes:
        return None
    return data.decode("utf-8", "replace")


def write_text(root, relative, text):
    """Replace an existing regular file's content (never through a symlink). Raises
    UnsafePath when the file is missing or unsafe."""
    data = text.encode("utf-8")
    with _open_beneath(root, relative, os.O_RDWR) as fd:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def walk_regular_files(root, *, max_files, max_depth=32, skip_dirs=()):
    """Relative paths of regular files under `root` in a stable order, never entering a
    symlinked directory, at most `max_files` of them and `max_depth` levels deep."""
    found = []
    stack = [("", 0)]
    while stack and len(found) < max_files:
        relative, depth = stack.pop()
        directory = os.path.join(root, relative) if relative else str(root)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth < max_depth and entry.name not in skip_dirs:
                        stack.append((path, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    found.append(path)
            except OSError:
                continue
    found.sort()
    return found[:max_files]
