"""Who a build runs as on the host: never uid 0.

A worker running as root starts every build command (bubblewrap, slirp4netns, and even an
unsandboxed build) through `setpriv --reuid --regid --clear-groups --nnp` as a dedicated
unprivileged account (`ARENA_BUILD_USER`, default `arena-build`, created by
bin/install-system-deps). bubblewrap then creates the build's user namespace as that account,
so the uid map inside points at it and not at root, and RLIMIT_NPROC (counted per real uid,
with root exempt) really limits the build's processes. A worker that is not root runs builds
as itself. A root worker that cannot drop privileges (no such account, the account is root,
no setpriv) refuses to build and says why.
"""

import os
import pwd
import shutil
from dataclasses import dataclass

from workers.engine.failures import EnvironmentFailure


@dataclass(frozen=True)
class BuildIdentity:
    uid: int
    gid: int
    name: str
    # argv prefix that switches to this identity (empty when the worker already is it).
    drop: tuple = ()

    def describe(self):
        return f"{self.name} (uid {self.uid})"


def build_identity(build_user):
    """The account builds run as; EnvironmentFailure says why builds cannot run."""
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        return BuildIdentity(uid, gid, name)
    try:
        account = pwd.getpwnam(build_user)
    except KeyError:
        raise EnvironmentFailure(
            f"the worker runs as root and the build account {build_user!r} does not exist; "
            "refusing to build as root (create it with bin/install-system-deps or name "
            "another unprivileged account in ARENA_BUILD_USER)"
        ) from None
    if account.pw_uid == 0 or account.pw_gid == 0:
        raise EnvironmentFailure(
            f"the build account {build_user!r} is root (uid or gid 0); refusing to build as "
            "root (set ARENA_BUILD_USER to an unprivileged account)"
        )
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise EnvironmentFailure(
            "the worker runs as root and cannot drop privileges: setpriv (util-linux) is "
            "not installed; refusing to build as root"
        )
    drop = (
        setpriv,
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--nnp",
        "--",
    )
    return BuildIdentity(account.pw_uid, account.pw_gid, build_user, drop)


def reachable_by(path, identity):
    """The first directory above `path` that `identity` cannot search, or None.

    bubblewrap opens the directories it binds as the build account, so every parent of the
    workspace must be searchable by it (mode o+x is enough: nothing needs to be listable).
    """
    if identity.uid == os.geteuid():
        return None
    current = os.path.abspath(path)
    parents = []
    while True:
        parents.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for directory in reversed(parents[1:]):
        try:
            info = os.stat(directory)
        except OSError:
            return directory
        if info.st_uid == identity.uid:
            allowed = info.st_mode & 0o100
        elif info.st_gid == identity.gid:
            allowed = info.st_mode & 0o010
        else:
            allowed = info.st_mode & 0o001
        if not allowed:
            return directory
    return None
