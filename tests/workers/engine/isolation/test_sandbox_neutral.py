"""Both sides see the same world: nothing a build can read tells standard from elide.

A race whose two sides run the same probe: each prints what a build could use to learn its
side (its mounts, the sandbox's PID 1, its cgroup, host name, environment, directory, user).
Once values that carry no side are replaced (kernel mount and device numbers, the random
names of a race's directories), the two outputs must be identical and name no side.
"""

import re

import pytest

from tests.repos import make_git_repo, maven_project_files
from tests.support import require_tool
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

PROBE = (
    "echo BEGIN; cat /proc/self/mountinfo; echo; tr '\\0' ' ' < /proc/1/cmdline; echo; "
    "cat /proc/self/cgroup; hostname; env | sort; pwd; id; ls -a /build /build/home; echo END"
)
# Mount ids, parent ids, device and loop device numbers are the kernel's counters.
MOUNT_NUMBERS_RE = re.compile(r"^\d+ \d+ \d+:\d+ ", re.MULTILINE)
LOOP_DEVICE_RE = re.compile(r"/dev/loop\d+")
# In parallel mode each side runs as its own account, drawn at random per race.
ACCOUNT_RE = re.compile(r"(?<![a-z])([ug]id)=\d+(?=[,\s])")
# A race's directories and bubblewrap's temporary files have random names.
RANDOM_NAME_RE = re.compile(r"\b[0-9a-f]{16}\b|(?<=/bindfile)\w{6}(?=/)")


class Collect(RaceListener):
    def __init__(self):
        self.output = {"standard": "", "elide": ""}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] += text


def probe_output(text):
    seen = text[text.index("BEGIN\n") : text.index("\nEND\n")]
    seen = LOOP_DEVICE_RE.sub("/dev/loop<n>", MOUNT_NUMBERS_RE.sub("<mount> ", seen))
    seen = ACCOUNT_RE.sub(r"\1=<account>", seen)
    return RANDOM_NAME_RE.sub("<random>", seen)


@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_mounts_pid_1_and_environment_are_identical_on_both_sides(tmp_path, mode):
    require_tool("bwrap", "builds run in bubblewrap")
    repo = make_git_repo(tmp_path / "probe", maven_project_files())
    config = EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        isolation__network="off"
    )
    command = ["sh", "-c", PROBE]
    listener = Collect()
    spec = RaceSpec(str(repo), standard_cmd=command, elide_cmd=command, cache="cold", mode=mode)
    outcome = run_race(spec, config, listener)
    assert outcome.status == "completed", outcome.error
    seen = {side: probe_output(text) for side, text in listener.output.items()}
    assert seen["standard"] == seen["elide"]
    lowered = seen["standard"].lower()
    assert "standard" not in lowered and "elide" not in lowered
    # bubblewrap's own arguments (host paths, descriptors) are not in its readable argv.
    assert "bwrap --args 200 -- sh -c" in seen["standard"]
    assert "--bind" not in seen["standard"] and "--seccomp" not in seen["standard"]
    assert "/build/src" in seen["standard"]  # the probe did read its mounts
