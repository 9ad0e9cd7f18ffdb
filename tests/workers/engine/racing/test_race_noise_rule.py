"""The host noise rule in real races (workers/engine/measuring/noise.py, race.py): a run during
which another process burned CPU is marked noisy and its pair run again; a host that stays busy
names no winner; adaptive races stop as soon as the verdict is clear."""

import subprocess
import sys

import pytest

from tests.support import OutputListener
from workers.engine import RaceListener, RaceSpec, run_race

pytestmark = pytest.mark.host_noise

# The build: a CPU-bound loop of SECONDS of CPU, then the same jar on both sides (one class,
# a Java 17 class-file header) where Maven and Elide leave theirs.
BUILD = """
import os, time, zipfile
end = time.process_time() + SECONDS
while time.process_time() < end:
    pass
for folder in ("target", ".dev/artifacts/jvm/jars"):
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(folder + "/app.jar", "w") as jar:
        jar.writestr("dev/arena/App.class", bytes.fromhex("cafebabe0000003d"))
print("BUILD SUCCESS")
"""


def busy_build(seconds):
    return ["python3", "-c", BUILD.replace("SECONDS", str(seconds))]


BUSY_BUILD = busy_build(0.15)
BURN = "while True: pass"


@pytest.fixture
def config(config):
    # Half a core: far above a quiet host's share, far below one burning process.
    return config.with_changes(noise__max_cpu=0.5, noise__retries=2)


class Burner:
    """A process burning one core until stopped."""

    def __init__(self):
        self.process = None

    def start(self):
        if self.process is None:
            self.process = subprocess.Popen([sys.executable, "-c", BURN])

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()


class BurnDuring(RaceListener):
    """Starts the burner when `start_at` (side, state) is first reported, stops it at `stop_at`."""

    def __init__(self, burner, start_at, stop_at):
        self.burner, self.start_at, self.stop_at = burner, start_at, stop_at
        self.started = False

    def on_state(self, side, state):
        if (side, state) == self.start_at and not self.started:
            self.started = True
            self.burner.start()
        elif (side, state) == self.stop_at:
            self.burner.stop()


def aa_race(config, repo, listener=None, **spec):
    return run_race(
        RaceSpec(str(repo), standard_cmd=BUSY_BUILD, elide_cmd=BUSY_BUILD, cache="cold", **spec),
        config,
        listener,
    )


def test_a_busy_host_names_no_winner_and_marks_every_run(config, repo):
    config = config.with_changes(noise__retries=0)
    burner = Burner()
    burner.start()
    try:
        raced = [(aa_race(config, repo, listener, iterations=3), listener)
                 for listener in (OutputListener() for _ in range(10))]  # fmt: skip
    finally:
        burner.stop()
    for outcome, listener in raced:
        assert outcome.verdict.winner is None
        assert outcome.verdict.verdict == "void", outcome.verdict
        assert "too busy to measure" in outcome.verdict.void_reason
        for result in outcome.sides.values():
            runs = result.phases["runs"]
            assert runs and all(run["noisy"] for run in runs)
            assert all(run["hostNoise"]["otherCpu"] > 0.5 for run in runs)
            # No repeat left: the first noisy pair counts, and the race stops there.
            assert [run["repeated"] for run in runs] == [False]
        assert all("no more runs" in listener.output[side] for side in outcome.sides)


def test_an_adaptive_race_on_a_busy_host_stops_once_its_repeats_are_spent(config, repo):
    burner = Burner()
    burner.start()
    try:
        outcome = aa_race(config, repo, iterations=10, adaptive=True)
    finally:
        burner.stop()
    assert outcome.verdict.verdict == "void"
    assert "2 repeat(s)" in outcome.verdict.void_reason
    for result in outcome.sides.values():
        # Two repeated pairs, then the kept noisy one: 3 runs of the 10 allowed.
        assert [run["repeated"] for run in result.phases["runs"]] == [True, True, False]


def test_a_burst_in_the_middle_repeats_only_the_pair_it_overlapped(config, repo):
    burner = Burner()
    listener = BurnDuring(
        burner,
        start_at=("standard", "building (run 2/3)"),
        stop_at=("elide", "building (run 2/3)"),
    )
    try:
        outcome = aa_race(config, repo, listener, iterations=3)
    finally:
        burner.stop()
    standard = outcome.sides["standard"].phases["runs"]
    elide = outcome.sides["elide"].phases["runs"]
    assert [run["noisy"] for run in standard] == [False, True, False, False]
    assert [run["noisy"] for run in elide] == [False, False, False, False]
    assert [run["repeated"] for run in standard] == [False, True, False, False]
    assert [run["repeated"] for run in elide] == [False, True, False, False]
    assert all(len(side.run_times_ms) == 3 for side in outcome.sides.values())
    assert outcome.verdict.verdict != "void"


def test_an_adaptive_race_stops_once_the_verdict_is_clear(config, repo):
    config = config.with_changes(noise__max_cpu=1000.0)  # the stopping rule, whatever the host
    slow = busy_build(0.45)
    outcome = run_race(
        RaceSpec(str(repo), standard_cmd=slow, elide_cmd=BUSY_BUILD, cache="cold",
                 iterations=10, adaptive=True),
        config,
    )  # fmt: skip
    assert outcome.verdict.verdict == "elide"
    runs = len(outcome.sides["elide"].run_times_ms)
    assert 3 <= runs < 10  # decided before the limit
    assert outcome.verdict.confidence == pytest.approx(1 - 0.05 / 8)
    low, high = outcome.verdict.ci95
    assert low <= outcome.verdict.speedup <= high and low > 1
