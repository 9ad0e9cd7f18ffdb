"""A race: clone once, prepare both sides, run them as the mode says, report each side.

Sequential mode runs one side at a time and alternates which side goes first from one
iteration to the next, so neither side systematically inherits a warmer machine. Parallel
mode runs both at once, each pinned to its own half of the CPUs. Every measured run (one
side in sequential mode, both sides in parallel mode) holds the host-wide measurement lock.
"""

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from jobs.outcomes.verdict import Verdict, judge, void
from jobs.outcomes.vocabulary import BASELINE_FIRST, CANCELLED, COMPLETED, FAILED
from workers.engine.cache import WARM, HostCache, RaceCaches
from workers.engine.measure import Cancelled, measurement_lock, split_cpus
from workers.engine.phases import prepare_phase
from workers.engine.sandbox import Sandbox
from workers.engine.scenarios import CLEAN, INCREMENTAL, SCENARIOS, find_edit
from workers.engine.side import FAILURE, SUCCESS, SideRunner
from workers.engine.workspace import (
    CloneError,
    RepositoryTooLarge,
    Workspace,
    check_repository_size,
    clone,
    remove_abandoned,
)

logger = logging.getLogger(__name__)

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
        self.timeout = float(spec.timeout_seconds or config.build_timeout)
        self.origin_ns = time.monotonic_ns()
        race_id = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.race_id) or uuid.uuid4().hex
        self.workspace = Workspace(config.workspace_root / f"{race_id}-{uuid.uuid4().hex[:8]}")
        self.sandbox = None
        self.runners = {}
        self.caches = None
        self.source_edit = None

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
            sha = clone(
                self.spec.repository_url,
                self.spec.ref,
                self.workspace.checkout,
                timeout=self.config.clone_timeout,
                cancel=self.cancel,
            )
            self.workspace.checkout.chmod(0o700)
            check_repository_size(
                self.workspace.checkout, self.config.max_repo_files, self.config.max_repo_depth
            )
        except CloneError as exc:
            if self.cancel.is_set():
                return RaceOutcome(CANCELLED, error="cancelled")
            prefix = "" if isinstance(exc, RepositoryTooLarge) else "git clone failed: "
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
            host=HostCache(self.config.cache_dir, self.config.cache_max_mb * 1024 * 1024),
            local_root=self.workspace.root / "caches",
            repository_url=self.spec.repository_url,
            commit=sha,
        )
        self.sandbox = Sandbox(self.config)
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
                runner.note(self.sandbox.limits_report())
                # Version probes and prepare builds start JVMs: not while another race is
                # being measured.
                with self._lock([runner]):
                    runner.prepare()
                    if not runner.done:
                        error, kind = prepare_phase(runner)
                        if error:
                            runner.note(error)
                            runner.finish(FAILURE, error, kind=kind)
            if self.spec.mode == PARALLEL:
                self._run_parallel()
            else:
                self._run_sequential()
        except Cancelled:
            for runner in self.runners.values():
                runner.interrupt()
            return RaceOutcome(CANCELLED, error="cancelled", commit_sha=sha, sides=self._results())
        for runner in self.runners.values():
            runner.verify_artifacts()
            runner.finish(SUCCESS)
        return self._outcome(sha)

    def _results(self):
        return {side: runner.result for side, runner in self.runners.items()}

    def _outcome(self, sha):
        results = self._results()
        verdict = judge(
            results["standard"],
            results["elide"],
            tie_tolerance=self.config.tie_tolerance,
            parity_tolerance=self.config.parity_tolerance,
        )
        return RaceOutcome(COMPLETED, commit_sha=sha, sides=results, verdict=verdict)

    def _total_runs(self):
        return self.spec.warmups + self.spec.iterations

    def _lock(self, runners):
        def on_wait():
            for runner in runners:
                self.listener.on_state(runner.side, "waiting for the measurement lock")

        return measurement_lock(self.config.measure_lock_path, cancel=self.cancel, on_wait=on_wait)

    def _run_sequential(self):
        for index in range(self._total_runs()):
            order = BASELINE_FIRST if index % 2 == 0 else tuple(reversed(BASELINE_FIRST))
            for side in order:
                runner = self.runners[side]
                if runner.done:
                    continue
                if self.cancel.is_set():
                    raise Cancelled()
                with self._lock([runner]):
                    runner.run_once(index)

    def _run_parallel(self):
        cpu_sets = dict(zip(BASELINE_FIRST, split_cpus(), strict=True))
        if cpu_sets["standard"] is None:
            for runner in self.runners.values():
                runner.note("only one CPU: the parallel builds share it")
        for index in range(self._total_runs()):
            active = [runner for runner in self.runners.values() if not runner.done]
            if not active:
                return
            if self.cancel.is_set():
                raise Cancelled()
            errors = []

            def run(runner, index=index, errors=errors):
                try:
                    runner.run_once(index, cpus=cpu_sets[runner.side])
                except BaseException as failure:  # re-raised in the race's thread
                    errors.append(failure)
                    if not isinstance(failure, Cancelled):
                        self.cancel.set()  # stop the other side too

            with self._lock(active):
                threads = [threading.Thread(target=run, args=(runner,)) for runner in active]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            if errors:
                internal = [error for error in errors if not isinstance(error, Cancelled)]
                raise internal[0] if internal else errors[0]


def run_race(spec, config, listener=None, cancel=None):
    """Run a race to its end; returns a RaceOutcome (completed, failed or cancelled)."""
    return Race(spec, config, listener, cancel).run()


__all__ = ["FAILURE", "SUCCESS", "RaceListener", "RaceOutcome", "RaceSpec", "run_race"]
