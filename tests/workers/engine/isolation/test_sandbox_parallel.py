"""Parallel mode (operator only) is fair: one side's processes never starve the other's.

Each side runs as its own build account, so RLIMIT_NPROC (counted per account on the host)
is each side's own; a side once held 169 processes and the other side's forks failed.
"""

import os
import pwd
import re
from pathlib import Path

import pytest

from tests.repos import make_git_repo, maven_project_files
from tests.support import require_tool
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

HOLD = """
import subprocess, time
held = []
try:
    while len(held) < 500:
        held.append(subprocess.Popen(["sleep", "15"]))
except OSError as exc:
    print("LIMIT", exc.errno)
print("HELD", len(held), "FROM", time.time(), flush=True)
time.sleep(8)
print("UNTIL", time.time())
"""
FORK = """
import subprocess, time
time.sleep(4)
forked = 0
for _ in range(20):
    try:
        subprocess.run(["true"], check=True)
        forked += 1
    except OSError as exc:
        print("FORK ERROR", exc.errno)
print("FORKED", forked, "AT", time.time())
"""


class Collect(RaceListener):
    def __init__(self):
        self.output = {"standard": "", "elide": ""}

    def on_output(self, side, text, elapsed_ms):
        self.output[side] += text


def threads_of(uid):
    """Processes and threads the kernel counts against `uid`'s RLIMIT_NPROC right now."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except OSError:
            continue  # gone meanwhile
        if int(fields["Uid"].split()[0]) == uid:
            count += int(fields["Threads"])
    return count


def number(pattern, text):
    return float(re.search(pattern, text).group(1))


def test_a_side_holding_its_process_limit_does_not_starve_the_other(tmp_path):
    require_tool("bwrap", "builds run in bubblewrap")
    if os.geteuid() != 0:
        pytest.skip("builds switch to the build accounts: the worker must be root, as in CI")
    config = EngineConfig(workspace_root=tmp_path / "workspaces").with_changes(
        isolation__network="off"
    )
    try:
        names = (config.isolation.build_user, config.isolation.parallel_build_user)
        accounts = [pwd.getpwnam(name).pw_uid for name in names]
    except KeyError:
        pytest.skip("parallel mode's second build account is missing (bin/install-system-deps)")
    # Other builds of this host may run as these accounts too: the limit leaves room for them.
    busy = max(threads_of(uid) for uid in accounts)
    config = config.with_changes(limits__processes=busy + 96)
    repo = make_git_repo(tmp_path / "fair", maven_project_files())
    spec = RaceSpec(
        str(repo),
        standard_cmd=["python3", "-c", HOLD],
        elide_cmd=["python3", "-c", FORK],
        cache="cold",
        mode="parallel",
    )
    listener = Collect()
    outcome = run_race(spec, config, listener)
    assert outcome.status == "completed", outcome.error
    holder, forker = listener.output["standard"], listener.output["elide"]
    assert "LIMIT 11" in holder, holder  # EAGAIN: it reached its own RLIMIT_NPROC
    assert "FORKED 20 AT" in forker and "FORK ERROR " not in forker, forker
    # The forks happened while the other side held every process it could.
    held_from, held_until = number(r"FROM ([\d.]+)", holder), number(r"UNTIL ([\d.]+)", holder)
    assert held_from < number(r"AT ([\d.]+)", forker) < held_until
