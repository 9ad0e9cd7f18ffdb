"""The worker `make run` starts records its toolchains and its noise floor: started with
bin/run-dev's own command line and environment (no probe or calibration injected, nothing
replaced), with a stand-in `elide` on PATH and a short calibration workload."""

import contextlib
import os
import shlex
import socket
import subprocess
import sys

import pytest
from django.test import Client

from tests.support import PROJECT_DIR, require_tool, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ELIDE_VERSION = "1.0.0-beta10"
FAKE_ELIDE = f"""#!/bin/sh
# Stands in for the elide CLI: its version, and `build` compiles the sources with javac.
case "$1" in
  --version) echo "{ELIDE_VERSION}";;
  adopt) echo "adopted";;
  build) mkdir -p target/classes && javac -d target/classes $(find src -name '*.java') \\
           && echo "BUILD SUCCESS";;
  *) echo "unknown command $1" >&2; exit 64;;
esac
"""
# Settings bin/run-dev leaves at their defaults, which a test environment may have set.
UNSET = (
    "ARENA_MEASURE_LOCK",
    "ARENA_ELIDE",
    "ARENA_TOOLCHAIN_PROBE_INTERVAL",
    "ARENA_CALIBRATION_INTERVAL",
)


def run_dev_worker_arguments():
    """`manage.py run_worker ...` exactly as bin/run-dev starts it."""
    script = (PROJECT_DIR / "bin" / "run-dev").read_text()
    line = next(line for line in script.splitlines() if "manage.py run_worker" in line)
    words = shlex.split(line.replace("$(hostname)", socket.gethostname()).rstrip(" &"))
    assert words[:2] == ["$PY", "manage.py"], line
    return words[1:]


@pytest.fixture
def fake_elide_dir(tmp_path):
    directory = tmp_path / "elide-bin"
    directory.mkdir()
    elide = directory / "elide"
    elide.write_text(FAKE_ELIDE)
    elide.chmod(0o755)
    return directory


def test_make_run_worker_records_its_toolchains_and_the_status_is_healthy(
    subprocess_env, fake_elide_dir, tmp_path
):
    require_tool("javac", "the stand-in elide compiles with javac")
    env = {key: value for key, value in subprocess_env.items() if key not in UNSET}
    env["PATH"] = f"{fake_elide_dir}{os.pathsep}{env.get('PATH', '')}"
    env["DEBUG"] = "1"  # as bin/run-dev exports it
    # Only the workspaces move into the test's directory: the measurement lock stays the
    # default one under them (ARENA_MEASURE_LOCK unset, as in `make run`).
    env["ARENA_WORKSPACE_ROOT"] = str(tmp_path / "workspaces")
    # The calibration runs at start as shipped, with a smaller workload than the default.
    env["ARENA_CALIBRATION_PAIRS"] = "2"
    env["ARENA_CALIBRATION_ROUNDS"] = "5000000"
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [sys.executable, *run_dev_worker_arguments()],
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    client = Client()
    try:

        def shows_toolchains():
            assert worker.poll() is None, log.read_text()
            page = client.get("/workers/").content.decode()
            return f"dev-{socket.gethostname()}" in page and ELIDE_VERSION in page

        assert wait_until(shows_toolchains, timeout=30, interval=0.25), log.read_text()
        status = client.get("/api/status")
        assert status.status_code == 200, status.json()
        toolchains = status.json()["checks"]["toolchains"]
        assert toolchains["elideWorkers"] == [f"dev-{socket.gethostname()}"]
        assert "toolchain probe failed" not in log.read_text()

        def shows_noise_floor():
            assert worker.poll() is None, log.read_text()
            return "(2 A/A pairs, " in client.get("/workers/").content.decode()

        assert wait_until(shows_noise_floor, timeout=60, interval=0.25), log.read_text()
        status = client.get("/api/status").json()["checks"]["toolchains"]["workers"]
        floor = status[f"dev-{socket.gethostname()}"]["noiseFloor"]
        assert floor["pairs"] == 2 and len(floor["ratios"]) == 2
        assert 0 <= floor["spread"] < 4 and floor["calibratedAt"]
        assert "noise floor calibration failed" not in log.read_text()
    finally:
        worker.terminate()  # drains, then exits; killed if it has not after 20 s
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=20)
        worker.kill()
        worker.wait()
