"""A worker's noise floor: how far apart two identical runs come out on this host.

At start and every ARENA_CALIBRATION_INTERVAL the worker races a fixed CPU-bound Java
workload against itself (an A/A race: alternating pairs of the same program, about 10 s in
all), under the measurement lock like any measured build. The spread of the pairs' ratios is
the host's noise floor: a race whose speedup lies within it says so, since this host cannot
tell such a difference from its own noise.

The workload is the arena's own program (never a repository's), compiled once with the JDK's
javac beside `java`, so the runs time the JVM and the loop, not the compiler.
"""

import contextlib
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WORKLOAD = """
public class ArenaCalibration {
    public static void main(String[] args) {
        long rounds = Long.parseLong(args[0]);
        long state = 88172645463325252L;
        double sum = 0;
        for (long i = 0; i < rounds; i++) {
            state ^= state << 13; state ^= state >>> 7; state ^= state << 17;
            sum += Math.sqrt((double) (state & 0xFFFFF));
        }
        System.out.println(sum > 0 ? "ok" : "no");
    }
}
"""


@dataclass(frozen=True)
class NoiseFloor:
    spread: float  # relative: 0.03 means identical runs differ by up to about 3%
    pairs: int
    ratios: tuple

    def as_json(self):
        return {
            "spread": round(self.spread, 4),
            "pairs": self.pairs,
            "ratios": [round(r, 4) for r in self.ratios],
        }


def spread_of(ratios):
    """The noise floor of A/A ratios: the largest distance of a pair's log ratio from even,
    as a relative difference (max |log r|, expressed as exp(.) - 1)."""
    return math.expm1(max(abs(math.log(r)) for r in ratios))


def within(speedup, spread):
    """Whether a race's speedup is no further from even than identical runs come out on its
    host: measured on the same log scale as the spread, so 1.02 and 1/1.02 are alike."""
    return abs(math.log(speedup)) <= math.log1p(spread) + 1e-12


def calibrate(java, *, pairs, rounds, lock=None, timeout=120):
    """Run the A/A workload `pairs` times a side (alternating) and return its NoiseFloor.

    `rounds`: the workload's loop count (ARENA_CALIBRATION_ROUNDS; 150 million take about a
    second on a current core).
    `lock`: a context manager factory held around the compiler and all runs (the host's
    measurement lock: their JVMs must not slow a measured build, nor a build them).
    Raises OSError or subprocess.SubprocessError when the workload cannot run.
    """
    with (
        tempfile.TemporaryDirectory(prefix="arena-calibration-") as directory,
        lock() if lock is not None else contextlib.nullcontext(),
    ):
        source = Path(directory) / "ArenaCalibration.java"
        source.write_text(WORKLOAD)
        javac = Path(shutil.which(java) or java).resolve().parent / "javac"
        subprocess.run(
            [str(javac), "-d", directory, str(source)], check=True, capture_output=True,
            timeout=timeout,
        )  # fmt: skip
        argv = [java, "-cp", directory, "ArenaCalibration", str(rounds)]

        def timed():
            started = time.monotonic_ns()
            subprocess.run(argv, check=True, capture_output=True, timeout=timeout)
            return time.monotonic_ns() - started

        timed()  # the first run warms the disk cache and the class data: not measured
        times = [(timed(), timed()) for _ in range(pairs)]
    ratios = tuple(a / b for a, b in times)
    return NoiseFloor(spread=spread_of(ratios), pairs=pairs, ratios=ratios)
