"""A race: clone once, prepare both sides, run them as the mode says (runs.py), report each
side and the verdict.

Every measured run (one side in sequential mode, both sides in parallel mode) holds the
host-wide measurement lock (`Race.locked`). A side's failure ends that side (failures.py);
anything else the race raises is an internal error for its caller.
"""

import contextlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field, replace

from jobs.outcomes.verdict import Verdict, judge, void
from jobs.outcomes.vocabulary import (
    BASELINE_FIRST,
    CANCELLED,
    COMPLETED,
    ELIDE,
    FAILED,
    INCONCLUSIVE,
    STANDARD,
    TIE,
)
from workers.engine.checkout.cache import WARM, HostCache, RaceCaches
from workers.engine.checkout.gitclone import CloneError, RepositoryTooLarge
from workers.engine.checkout.scenarios import CLEAN, INCREMENTAL, SCENARIOS, find_edit
from workers.engine.checkout.workspace import (
    QuotaUnavailable,
    clone_checkout,
    race_workspace,
    remove_abandoned,
)
from workers.engine.failures import EngineFailure, EnvironmentFailure
from workers.engine.isolation.sandbox import Sandbox, side_sandboxes
from workers.engine.measuring.measure import Cancelled, build_cpus, measurement_lock
from workers.engine.racing.budget import OverBudget, RaceBudget
from workers.engine.racing.halt import RaceHalt
from workers.engine.racing.phases import prepare_phase
from workers.engine.racing.runs import run_parallel, run_sequential
from workers.engine.racing.side import FAILURE, SUCCESS, SideRunner

logger = logging.getLogger(__name__)
# Verdicts that come from the measured runs (the noise rule and adaptive runs apply to them).
MEASURED = (ELIDE, STANDARD, TIE, INCONCLUSIVE)

SEQUENTIAL = "sequential"
PARALLEL = "parallel"


@dataclass
class RaceSpec:
    repository_url: str
    ref: str = ""
    mode: str = SEQUENTIAL
    iterations: int = 1
    warmups: int = 0
    timeout_seconds: float | None = None
    standard_cmd: list | None = None
    elide_cmd: list | None = None
    race_id: str = ""
    # Dependency cache policy (cache.py) and build scenario (scenarios.py).
    cache: str = WARM
    scenario: str = CLEAN
    # Adaptive runs ("auto", jobs/outcomes/sequential.py): `iterations` is then the most runs a
    # side, and pairs are added only until the verdict is clear.
    adaptive: bool = False


@dataclass
class RaceOutcome:
    status: str
    error: str = ""
    commit_sha: str = ""
    sides: dict = field(default_factory=dict)
    # The race's verdict, speedup and interval (jobs/outcomes/verdict.py): stored as is.
    verdict: Verdict | None = None

    @property
    def speedup(self):
        return self.verdict.speedup if self.verdict else None


class RaceListener:
    """Receives a race's events. Called from the race's threads (two in parallel mode)."""

    def on_commit(self, sha):
        pass

    def on_state(self, side, state):
        pass

    def on_side_started(self, side, tool, tool_version):
        pass

    def on_output(self, side, text, elapsed_ms):
        pass

    def on_side_finished(self, side, result):
        pass


class Race:
    def __init__(self, spec, config, listener=None, cancel=None):
        if spec.mode not in (SEQUENTIAL, PARALLEL):
            raise ValueError(f"unknown race mode {spec.mode!r}")
        if spec.iterations < 1 or spec.warmups < 0:
            raise ValueError("iterations must be at least 1 and warmups at least 0")
        if spec.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {SCENARIOS}, got {spec.scenario!r}")
        self.spec = spec
        self.config = config
        self.listener = listener or RaceListener()
        self.cancel = cancel or threading.Event()
        # Set by a cancel or when the race becomes void: builds, lock waits and loops stop.
        self.halt = RaceHalt(self.cancel)
        self.timeout = float(spec.timeout_seconds or config.timeouts.build)
        self.budget = RaceBudget(config.timeouts.race_budget)
        self.origin_ns = time.monotonic_ns()
        race_id = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.race_id) or uuid.uuid4().hex
        self.workspace = race_workspace(
            config.workspace_root / f"{race_id}-{uuid.uuid4().hex[:8]}", config
        )
        self.sandbox = None
        self.runners = {}
        self.caches = None
        self.source_edit = None
        # Pairs run again because the host was busy, and an adaptive race's latest look.
        self.repeats = 0
        self.last_look = None
        # Both sides' sequential runs on one fixed CPU set (measure.build_cpus).
        self.build_cpus = build_cpus(config.noise.build_cpus)

    def elapsed_ms(self):
        return round((time.monotonic_ns() - self.origin_ns) / 1e6)

    def run(self):
        root = self.config.workspace_root
        try:
            root.mkdir(parents=True)
        except FileExistsError:  # made before, or by a race starting at the same moment
            pass
        else:
            root.chmod(0o711)  # the build account reaches its own directories, lists nothing
        remove_abandoned(root)
        self.workspace.create()
        try:
            return self._run()
        finally:
            self._clean_up()

    def _clean_up(self):
        """Remove (or keep) the workspace; a failure is logged, never the race's outcome."""
        for runner in self.runners.values():
            if runner.recipe is not None:
                runner.recipe.release()  # its provisioned tool may be evicted from now on
        try:
            if self.config.keep_workspaces:
                self.workspace.keep()
            else:
                self.workspace.remove()
        except Exception:
            logger.exception("could not remove workspace %s", self.workspace.root)

    def _run(self):
        for side in BASELINE_FIRST:
            self.listener.on_state(side, "cloning")
        clone_started = time.monotonic()
        try:
            sha = clone_checkout(self.workspace, self.spec, self.config, self.cancel)
        except CloneError as exc:
            if self.cancel.is_set():
                return RaceOutcome(CANCELLED, error="cancelled")
            refused = isinstance(exc, (RepositoryTooLarge, QuotaUnavailable))
            prefix = "" if refused else "git clone failed: "
            error = f"{prefix}{exc}"
            return RaceOutcome(FAILED, error=error, verdict=void(error))
        clone_ms = round((time.monotonic() - clone_started) * 1000)
        self.listener.on_commit(sha)
        if self.spec.scenario == INCREMENTAL:
            self.source_edit = find_edit(self.workspace.checkout)
            if self.source_edit is None:
                error = (
                    "the incremental scenario needs a string literal inside a method "
                    "body of a Java class under src/main/java; none was found"
                )
                return RaceOutcome(FAILED, commit_sha=sha, error=error, verdict=void(error))
        self.caches = RaceCaches(
            self.spec.cache,
            host=HostCache(self.config.cache_dir, self.config.stores.cache_max_mb * 1024 * 1024),
            local_root=self.workspace.root / "caches",
            repository_url=self.spec.repository_url,
            commit=sha,
        )
        self.sandbox = Sandbox(self.config)
        self.sandboxes = side_sandboxes(self.sandbox, BASELINE_FIRST, self.spec.mode == PARALLEL)
        customs = {"standard": self.spec.standard_cmd, "elide": self.spec.elide_cmd}
        self.runners = {
            side: SideRunner(side, race=self, custom_argv=customs[side]) for side in BASELINE_FIRST
        }
        try:
            for runner in self.runners.values():
                runner.result.phases["clone_ms"] = clone_ms
                runner.note(
                    f"cloned {self.spec.repository_url} at {sha} in {clone_ms} ms; "
                    f"cache {self.spec.cache}, scenario {self.spec.scenario}"
                )
                runner.note(self.sandboxes[runner.side].limits_report())
                if self.spec.mode != PARALLEL:
                    cpus = ",".join(str(cpu) for cpu in self.build_cpus)
                    runner.note(f"measured runs of both sides pinned to CPUs {cpus}")
            self.budget.start()
            # Version probes and prepare builds start JVMs: not while another race is being
            # measured. Both sides' toolchains are checked before either side builds, so that
            # a side that cannot run voids the race before the other one starts a build.
            for runner in self.runners.values():
                self.check_halt()
                with self.locked([runner]):
                    runner.prepare()
            for runner in self.runners.values():
                self.check_halt()
                if runner.done:
                    continue
                with self.locked([runner]):
                    try:
                        prepare_phase(runner)
                    except EngineFailure as failure:
                        runner.fail(failure)
            if self.spec.mode == PARALLEL:
                run_parallel(self)
            else:
                run_sequential(self)
        except OverBudget:
            return self._over_budget_outcome(sha)
        except Cancelled:
            if self.halt.is_void and not self.cancel.is_set():
                return self._void_outcome(sha)
            for runner in self.runners.values():
                runner.interrupt()
            return RaceOutcome(CANCELLED, error="cancelled", commit_sha=sha, sides=self._results())
        for runner in self.runners.values():
            runner.verify_artifacts()
            runner.finish(SUCCESS)
        return self._outcome(sha)

    def check_halt(self):
        """Stop here (Cancelled) once the race is cancelled or void."""
        if self.halt.is_set():
            raise Cancelled()

    def _void_outcome(self, sha):
        """A side could not run: the other side stopped where it was (not run), race void."""
        for runner in self.runners.values():
            if not runner.done:
                reason = self.halt.stopped_reason(bool(runner.result.run_times_ms))
                runner.fail(EnvironmentFailure(reason))
        verdict = void(self.halt.void_cause)
        return RaceOutcome(COMPLETED, commit_sha=sha, sides=self._results(), verdict=verdict)

    def _over_budget_outcome(self, sha):
        """The budget ran out: the sides still building stop there, the race is void."""
        reason = self.budget.reason
        for runner in self.runners.values():
            if not runner.done:
                runner.fail(EnvironmentFailure(reason))
        verdict = void(reason)
        return RaceOutcome(COMPLETED, commit_sha=sha, sides=self._results(), verdict=verdict)

    def _results(self):
        return {side: runner.result for side, runner in self.runners.items()}

    def _outcome(self, sha):
        results = self._results()
        verdict = judge(
            results["standard"],
            results["elide"],
            tie_tolerance=self.config.tolerances.tie,
            parity_tolerance=self.config.tolerances.parity,
        )
        both_built = all(result.status == SUCCESS for result in results.values())
        if verdict.verdict in MEASURED and both_built:
            busy = self._too_busy(results)
            if busy:
                verdict = void(busy)
            elif self.last_look is not None:
                # The adaptive race's own interval: valid however many runs it took.
                found = self.last_look
                verdict = replace(
                    verdict,
                    verdict=found.verdict,
                    speedup=found.speedup,
                    ci95=found.interval,
                    confidence=found.confidence,
                )
        return RaceOutcome(COMPLETED, commit_sha=sha, sides=results, verdict=verdict)

    def _too_busy(self, results):
        """Why the race cannot name a winner when noisy runs still count after every repeat."""
        noisy = sum(
            1
            for result in results.values()
            for run in result.phases.get("runs", [])
            if run["noisy"] and not run["repeated"]
        )
        if not noisy:
            return ""
        return (
            f"the host was too busy to measure: {noisy} counted run(s) were noisy after "
            f"{self.repeats} repeat(s) (other processes used more than "
            f"{self.config.noise.max_cpu:g} of a core)"
        )

    @contextlib.contextmanager
    def locked(self, runners):
        """The measurement lock; time spent waiting for it is not charged to the budget."""

        def on_wait():
            for runner in runners:
                self.listener.on_state(runner.side, "waiting for the measurement lock")

        asked = time.monotonic()
        with measurement_lock(self.config.measure_lock_path, cancel=self.halt, on_wait=on_wait):
            self.budget.excuse(time.monotonic() - asked)
            yield


def run_race(spec, config, listener=None, cancel=None):
    """Run a race to its end; returns a RaceOutcome (completed, failed or cancelled)."""
    return Race(spec, config, listener, cancel).run()


__all__ = ["FAILURE", "SUCCESS", "RaceListener", "RaceOutcome", "RaceSpec", "run_race"]
