"""Dependency stores a tool keeps inside the project, carried by the warm cache like ~/.m2.

Elide resolves a project's Maven dependencies into `<project>/.dev/dependencies/m2`
(packages/builder/.../jvm/resolver/MavenAetherResolver.kt: `layout.dependencies.resolve("m2")`,
with `dependencies` = `.dev/dependencies` in tooling/config/BuildConfigurator.kt), so a fresh
checkout per run would lose it. The warm state keeps a copy under `STASH` beside the home's
files; each run's home gets it moved into the run's fresh source copy before the build starts,
so HOME never shows it and the state's fingerprint covers it.

The source copy holds a hostile repository's files: every component of a carried path is
checked with lstat (a symlink or a file there means nothing is carried), and the build is not
running while the arena copies.
"""

import errno
import os
import stat
from pathlib import Path

from workers.engine.checkout.trees import chown_tree, remove_tree, tree_summary

CARRIED_PATHS = (".dev/dependencies/m2",)
STASH = ".arena-project"


def _real_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def existing_dir(root, relative):
    """root/relative when each component is a real directory (no symlink), else None."""
    path = Path(root)
    for part in Path(relative).parts:
        path = path / part
        if not _real_dir(path):
            return None
    return path


def make_dirs(root, relative, owner=None):
    """Create root/relative component by component (given to `owner`); None when a component
    exists as something else than a directory (a symlink a repository committed)."""
    path = Path(root)
    for part in Path(relative).parts:
        path = path / part
        if not os.path.lexists(path):
            path.mkdir()
            if owner is not None:
                os.chown(path, *owner, follow_symlinks=False)
        elif not _real_dir(path):
            return None
    return path


def stash(snapshot, project, copy):
    """Add the project's carried stores to a warm state (`snapshot`, a copy of the home)."""
    remove_tree(Path(snapshot) / STASH)  # a home never brings its own
    for relative in CARRIED_PATHS:
        source = existing_dir(project, relative)
        if source is not None:
            copy(source, Path(snapshot) / STASH / relative)


def unstash(home, project, owner=None, copy=None):
    """Move the carried stores from a run's `home` (a copy of the state) into its fresh
    `project` copy (copied with `copy` when they are on different filesystems). Returns the
    notes to print (a store that could not be carried)."""
    carried = Path(home) / STASH
    notes = []
    if not os.path.lexists(carried):
        return notes
    for relative in CARRIED_PATHS:
        source = existing_dir(carried, relative)
        if source is None:
            continue
        parent = make_dirs(project, Path(relative).parent, owner)
        destination = None if parent is None else parent / Path(relative).name
        if destination is None or (os.path.lexists(destination) and not _real_dir(destination)):
            notes.append(f"{relative} not carried: the project has a non-directory on its path")
            continue
        remove_tree(destination)
        try:
            os.rename(source, destination)
        except OSError as error:
            if error.errno != errno.EXDEV or copy is None:
                raise
            copy(source, destination)
        if owner is not None:
            chown_tree(destination, *owner)
    remove_tree(carried)
    return notes


def carried_summary(project):
    """(files, bytes) of the carried stores in a project copy."""
    files = size = 0
    for relative in CARRIED_PATHS:
        path = existing_dir(project, relative)
        if path is not None:
            count, total, _ = tree_summary(path)
            files, size = files + count, size + total
    return files, size
