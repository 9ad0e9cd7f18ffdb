"""The order of a race's runs in each mode, once both sides are prepared.

Sequential mode runs one side at a time and alternates which side goes first from one pair to
the next, so neither side systematically inherits a warmer machine; it repeats pairs the busy
host spoiled and stops an adaptive race once its verdict is clear. Parallel mode runs both
sides at once, each pinned to its own half of the CPUs. Every measured run holds the
host-wide measurement lock (`Race.locked`).
"""

import threading
import time

from jobs.outcomes.sequential import FIRST_LOOK, look
from jobs.outcomes.vocabulary import BASELINE_FIRST
from workers.engine.measuring.measure import Cancelled, split_cpus


def run_pair(race, index):
    """Each side once, alternating which goes first (index even: the baseline first)."""
    order = BASELINE_FIRST if index % 2 == 0 else tuple(reversed(BASELINE_FIRST))
    for side in order:
        runner = race.runners[side]
        if runner.done:
            continue
        race.check_halt()
        with race.locked([runner]):
            runner.run_once(index, cpus=race.build_cpus)


def run_sequential(race):
    """Warm-ups, then measured pairs: a pair during which the rest of the host was busy
    (noise.py) is run again, up to noise_retries times a race, and the race stops at the
    first noisy pair it has to keep; an adaptive race stops as soon as its verdict is
    clear (jobs/outcomes/sequential.py)."""
    spec = race.spec
    for index in range(spec.warmups):
        run_pair(race, index)
    kept = 0
    while kept < spec.iterations:
        started = time.monotonic()
        run_pair(race, spec.warmups + kept)
        pair_seconds = time.monotonic() - started
        active = [runner for runner in race.runners.values() if not runner.done]
        if len(active) < len(race.runners):
            return  # a side failed: nothing more to measure
        noisy = any(runner.last_run_noisy for runner in active)
        if noisy and race.repeats < race.config.noise.retries:
            race.repeats += 1
            for runner in active:
                runner.repeat_last_run()
                runner.note("the host was busy during that run: the pair is run again")
            continue
        kept += 1
        if noisy:
            # Every repeat is spent and a noisy run now counts: the race is void whatever
            # follows (Race._too_busy), so it stops here instead of holding the host.
            for runner in active:
                runner.note("the host stayed busy after every repeat: no more runs")
            return
        if spec.adaptive and kept >= FIRST_LOOK:
            # No pair is started that the race's budget cannot fit: the race ends here.
            final = race.budget.left() < pair_seconds
            race.last_look = look_at_runs(race, final=final)
            if race.last_look.decided:
                return


def look_at_runs(race, final=False):
    """The adaptive race's look at the runs so far (jobs/outcomes/sequential.py)."""
    return look(
        race.runners["standard"].result.run_times_ms,
        race.runners["elide"].result.run_times_ms,
        max_runs=race.spec.iterations,
        tie_tolerance=race.config.tolerances.tie,
        final=final,
    )


def run_parallel(race):
    """Warm-ups and iterations of both sides at once. A side's thread hands what it raised
    to the race's thread, which raises it there (an internal error first, else the cancel),
    so that it is handled where a sequential race's would be."""
    cpu_sets = dict(zip(BASELINE_FIRST, split_cpus(), strict=True))
    if cpu_sets["standard"] is None:
        for runner in race.runners.values():
            runner.note("only one CPU: the parallel builds share it")
    for index in range(race.spec.warmups + race.spec.iterations):
        active = [runner for runner in race.runners.values() if not runner.done]
        if not active:
            return
        race.check_halt()
        raised = []

        def run(runner, index=index, raised=raised):
            try:
                runner.run_once(index, cpus=cpu_sets[runner.side])
            except BaseException as exc:  # handed over, raised again in the race's thread
                raised.append(exc)
                if not isinstance(exc, Cancelled):
                    race.cancel.set()  # stop the other side too

        with race.locked(active):
            threads = [threading.Thread(target=run, args=(runner,)) for runner in active]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if raised:
            internal = [error for error in raised if not isinstance(error, Cancelled)]
            raise internal[0] if internal else raised[0]
