"""The many-hosts drill (scripts/netns_drill.py) passes: three workers in three network
namespaces reaching a private PostgreSQL only over veth links, one link cut mid-race."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_DIR, require_tool


def test_three_hosts_over_veth_links_claim_beat_reap_and_measure_apart(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network namespaces and veth links need root")
    for tool in ("ip", "unshare", "nsenter", "runuser", "bwrap"):
        require_tool(tool)
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL's server binaries (initdb) are not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_"))}
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "netns_drill.py"), "--jobs", "6",
         "--timeout", "120", "--keep-logs", str(tmp_path / "logs")],
        env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = done.stdout
    assert "all checks hold" in report
    assert "cut_races: 0" not in report and "overlapping_runs_across_hosts: 0" not in report
