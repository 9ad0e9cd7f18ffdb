"""One side of a race: its recipe, its runs, its output stream, filling in its result
(results.py). A failure ends the side here (`SideRunner.fail`, failures.py)."""

import shlex

from jobs.outcomes.vocabulary import FAILURE, INFRASTRUCTURE, SUCCESS
from workers.engine.failures import BuildFailure, EngineFailure, EnvironmentFailure
from workers.engine.measuring.bell import BellDetector
from workers.engine.measuring.downloads import DownloadCounter, counted
from workers.engine.measuring.measure import Cancelled
from workers.engine.measuring.noise import NoiseMeter
from workers.engine.measuring.output import OutputCap, TextDecoder
from workers.engine.measuring.process import run_process
from workers.engine.racing import diagnosis
from workers.engine.racing.artifacts import side_artifacts
from workers.engine.racing.budget import OverBudget
from workers.engine.racing.phases import before_run, choose_jdk, side_cache_tool
from workers.engine.racing.results import SideResult, utcnow
from workers.engine.tools.recipes import (
    CUSTOM,
    ELIDE,
    NO_BUILD_FILE,
    parse_version,
    recipe_for,
    with_elide_version,
)

NO_JAR = "no jar produced"

# A version probe keeps at most this much output (a hostile wrapper may print gigabytes).
VERSION_OUTPUT_LIMIT = 64 * 1024
# Seconds between two checks of a side's disk usage while it builds: a walk of its tree
# without the kernel's quota, one statvfs with it.
DISK_CHECK_INTERVAL = 2.0
QUOTA_CHECK_INTERVAL = 0.5


class SideRunner:
    """Runs one side's builds and publishes its output through the race listener."""

    def __init__(self, side, *, race, custom_argv=None):
        self.side = side
        self.race = race
        self.config = race.config
        self.custom_argv = custom_argv
        self.result = SideResult(side=side)
        self.recipe = None
        self.java_home = None
        self.done = False
        self._cap = OutputCap(
            self.config.limits.output_cap_chars, self.config.limits.output_tail_chars
        )
        self._bells = []
        self._line_open = False
        # The end of the latest run's output, for naming the cause of a failure.
        self._tail = ""
        # "disk quota reached: ..." when the latest command filled its filesystem.
        self.quota_error = ""

    # --- output ---------------------------------------------------------------------------
    def say(self, text):
        """Publish text (arena messages and decoded build output) through the output cap."""
        if not text:
            return
        self._line_open = not text.endswith("\n")
        published = self._cap.feed(text)
        if published:
            self.race.listener.on_output(self.side, published, self.race.elapsed_ms())

    def note(self, message):
        self.say(f"{self._newline()}[arena] {message}\n")

    def _newline(self):
        """Arena lines start on a line of their own even after output without a newline."""
        return "\n" if self._line_open else ""

    def _stream(self, decoder, bell, downloads=None):
        def on_bytes(data):
            text = decoder.decode(data)
            if bell is not None:
                bell.feed(text)
            if downloads is not None:
                downloads.feed(text)
            self._tail = (self._tail + text)[-diagnosis.TAIL_CHARS :]
            self.say(text)

        return on_bytes

    def _owner(self):
        identity = self.race.sandboxes[self.side].identity
        return (identity.uid, identity.gid) if identity else None

    def _disk_watch(self):
        limit_mb = self.config.limits.disk_mb
        if not limit_mb:
            return None
        workspace = self.race.workspace
        if workspace.kernel_quota:
            # The kernel enforces the quota; a filled filesystem (even by a file unlinked
            # since) stops the build at once and is what the side fails with.
            def full():
                self.quota_error = self.quota_error or workspace.quota_reached(self.side)
                return self.quota_error

            return (QUOTA_CHECK_INTERVAL, full)

        def check():
            used = workspace.disk_usage(self.side)
            if used > limit_mb * 1024 * 1024:
                return (
                    f"the build used more than {limit_mb} MB of disk (its source copy and home; "
                    "ARENA_BUILD_MAX_DISK_MB) and was stopped"
                )
            return ""

        return (DISK_CHECK_INTERVAL, check)

    def _run(
        self, argv, *, timeout, cpus=None, bell=None, collect=None, max_output=None, downloads=None
    ):
        timeout = self.race.budget.bound(timeout)  # OverBudget: no time left for a build
        decoder = TextDecoder()
        on_bytes = self._stream(decoder, bell, downloads)
        if collect is not None:
            inner = on_bytes

            def on_bytes(data):
                collect.append(data)
                inner(data)

        workspace = self.race.workspace
        launch = self.race.sandboxes[self.side].launch(
            argv,
            workdir=workspace.src(self.side),
            home=workspace.home(self.side),
            side_dir=workspace.side_dir(self.side),
            cpus=cpus,
            ro_paths=self.recipe.ro_paths if self.recipe else (),
            watch=self._disk_watch(),
            java_home=self.java_home,
            jdk_on_path=self.recipe.jdk_on_path if self.recipe else True,
        )
        self.say(f"{self._newline()}$ {shlex.join(argv)}\n")
        self._tail = ""
        self.quota_error = ""
        outcome = run_process(
            launch,
            timeout=timeout,
            on_output=on_bytes,
            cancel=self.race.halt,
            kill_grace=self.config.timeouts.kill_grace,
            max_output=max_output,
        )
        self.quota_error = self.quota_error or self.race.workspace.quota_reached(self.side)
        if outcome.timed_out and self.race.budget.spent:
            raise OverBudget(self.race.budget.reason)  # the budget, not the run, timed out
        rest = decoder.flush()
        if bell is not None:
            bell.feed(rest)
        if downloads is not None:
            downloads.feed(rest)
        self.say(rest)
        return outcome

    # --- lifecycle ------------------------------------------------------------------------
    def prepare(self):
        """Pick the recipe and probe the toolchain version; a side that cannot build ends here."""
        self.result.started_at = utcnow()
        self.race.listener.on_state(self.side, "preparing")
        sandbox = self.race.sandboxes[self.side]
        src = self.race.workspace.fresh_copy(self.side, self._owner())
        for warning in sandbox.warnings:
            self.say(warning + "\n")
        self.recipe = recipe_for(
            self.side, self.race.workspace.src(self.side), self.config, self.custom_argv
        )
        self.result.tool = self.recipe.tool
        try:
            self._check_can_build(sandbox, src)
        except EngineFailure as failure:
            self.race.listener.on_side_started(self.side, self.result.tool, "")
            self.fail(failure)
            return
        if self.recipe.version_argv:
            output = []
            outcome = self._run(
                self.recipe.version_argv,
                timeout=self.config.timeouts.version_probe,
                collect=output,
                max_output=VERSION_OUTPUT_LIMIT,
            )
            if outcome.cancelled:
                raise Cancelled()
            if outcome.timed_out or outcome.error:
                reason = "timed out" if outcome.timed_out else outcome.error
                self.note(f"version probe {reason}; the version is unknown")
            elif outcome.exit_code == 0:
                self.result.tool_version = parse_version(
                    b"".join(output).decode("utf-8", "replace"), self.recipe.tool
                )
        if self.recipe.version_label:  # a provisioned tool: the arena knows what it runs
            self.result.tool_version = self.recipe.version_label
            self.note(f"build tool: {self.recipe.version_label}")
            for line in self.recipe.notes:
                self.note(line)
        if self.recipe.tool == ELIDE:
            self._choose_elide_command()
        self.race.listener.on_side_started(self.side, self.result.tool, self.result.tool_version)

    def _check_can_build(self, sandbox, src):
        """The side's sandbox, workspace, recipe and JDK, in that order: the first that cannot
        serve raises its failure (only a project without a build file is the project's)."""
        for error in (sandbox.error, sandbox.workspace_error(src)):
            if error:
                raise EnvironmentFailure(error)
        if self.recipe.error == NO_BUILD_FILE:
            raise BuildFailure(self.recipe.error)
        if self.recipe.error:
            raise EnvironmentFailure(self.recipe.error)
        choose_jdk(self)

    def _choose_elide_command(self):
        """Elide's command follows its probed version; a bad ARENA_ELIDE_RECIPE voids the side."""
        with_elide_version(self.recipe, self.result.tool_version, self.config)
        for line in self.recipe.notes:
            self.note(line)
        if self.recipe.error:
            self.fail(EnvironmentFailure(self.recipe.error))

    def run_once(self, index, cpus=None):
        """Build once from a fresh copy; a failed run ends the side."""
        warmups, iterations = self.race.spec.warmups, self.race.spec.iterations
        warmup = index < warmups
        # An adaptive race does not know how many runs it will take: "run 4 of at most 10".
        of = f" of at most {iterations}" if self.race.spec.adaptive else f"/{iterations}"
        label = f"warm-up {index + 1}/{warmups}" if warmup else f"run {index - warmups + 1}{of}"
        self.race.listener.on_state(self.side, f"building ({label})")
        if warmups + iterations > 1:
            self.say(f"\n=== {label}{' (not measured)' if warmup else ''} ===\n")
        try:
            before_run(self, index + 1)
        except EnvironmentFailure as failure:  # the cache or the source change: the arena's
            self.fail(failure)
            return
        bell = BellDetector()
        downloads = DownloadCounter()
        timeout = self.race.timeout
        measured_ms = 0
        outcome = None
        meter = NoiseMeter().start()
        build_cpu, reaped_cpu = 0.0, 0.0
        for step in self.recipe.steps:
            outcome = self._run(
                step.argv, timeout=timeout, cpus=cpus, bell=bell, downloads=downloads
            )
            if build_cpu is not None:
                build_cpu = None if outcome.cpu_seconds is None else build_cpu + outcome.cpu_seconds
            reaped_cpu += outcome.reaped_cpu_seconds
            if step.measured:
                measured_ms += outcome.elapsed_ms
            timeout = max(timeout - outcome.elapsed_ms / 1000, 0.001)
            if not outcome.ok or self.quota_error:
                break
        if outcome.cancelled:
            raise Cancelled()
        self._bells.append(bell.rung)
        self.result.exit_code = outcome.exit_code
        if not warmup:
            self.result.run_times_ms.append(measured_ms)
            noise = meter.finish(build_cpu, reaped_cpu)
            self.result.phases["runs"].append(
                {
                    "ms": measured_ms,
                    "noisy": noise.noisy(self.race.config.noise.max_cpu),
                    "hostNoise": noise.as_json(),
                    "repeated": False,
                    "cpus": sorted(cpus) if cpus else None,
                }
            )
            fetched = downloads.finish() if counted(side_cache_tool(self)) else None
            self.result.phases["downloads"].append(fetched)
            if fetched is not None:
                self.note(f'downloads in this run: {fetched} (Maven\'s "Downloaded from" lines)')
        try:
            self._check_run(outcome, bell)
        except EngineFailure as failure:
            if not self.result.run_times_ms:
                self.result.run_times_ms.append(measured_ms)
            self.fail(failure)

    @property
    def last_run_noisy(self):
        runs = self.result.phases["runs"]
        return bool(runs) and runs[-1]["noisy"]

    def repeat_last_run(self):
        """Take the last measured run back (its pair is run again): it stays listed, marked
        repeated, and no longer counts."""
        self.result.run_times_ms.pop()
        self.result.phases["runs"][-1]["repeated"] = True
        if self.result.phases["downloads"]:
            self.result.phases["downloads"].pop()

    def _check_run(self, outcome, bell):
        """Raise the failure of a run that failed (BuildFailure or EnvironmentFailure)."""
        if outcome.timed_out:
            raise BuildFailure(
                f"timed out after {self.race.timeout:g} s; the build's processes were killed"
            )
        if self.quota_error:  # the build filled its disk: its own doing
            raise BuildFailure(self.quota_error)
        if outcome.error:  # the process could not be started: the arena's problem
            raise EnvironmentFailure(outcome.error)
        if outcome.exit_code != 0:
            raise diagnosis.exit_failure("the build exited", outcome.exit_code, self._tail)
        if bell.reported_failure:
            raise BuildFailure("the build exited 0 but its bell reported failure")

    def verify_artifacts(self):
        """After the last run: list the jars it left; a build that produced none failed.

        Operator-defined custom commands are not held to the jar rule (their artifacts are
        still recorded): they may race anything, not only jar builds.
        """
        if self.done:
            return
        custom = self.recipe is not None and self.recipe.tool == CUSTOM
        found = side_artifacts(self.side, self.race.workspace.src(self.side), custom=custom)
        self.result.artifacts = found.summary()
        self.result.class_names = found.class_names
        self.result.class_versions = found.class_versions
        self.result.resources = found.resources
        for note in found.notes[:5]:
            self.note(f"artifact {note}")
        if found.files:
            self.note(
                f"artifacts: {found.files} jar(s), {found.bytes} bytes, {found.classes} classes"
            )
        elif self.recipe is not None and self.recipe.tool != CUSTOM:
            template = self.recipe.elide_template
            error = NO_JAR
            if template is not None and not template.builds_pom_sources:
                error = f"{NO_JAR}: {template.name}; {self.recipe.notes[-1]}"
            self.fail(BuildFailure(error))

    def fail(self, failure):
        """End the side with `failure` (an EngineFailure): its sentence on the terminal and
        in the result, its kind as the result's error kind."""
        self.note(str(failure))
        self.finish(FAILURE, str(failure), kind=failure.kind)

    def finish(self, status, error="", kind=""):
        if self.done:
            return
        self.done = True
        result = self.result
        result.status = status
        result.error = error
        result.error_kind = kind if status == FAILURE else ""
        result.bell_rung = bool(self._bells) and all(self._bells)
        stats = result.stats
        result.duration_ms = round(stats.median_ms) if stats else None
        result.phases["runs_ms"] = list(result.run_times_ms)
        result.finished_at = utcnow()
        if status == FAILURE and result.error_kind == INFRASTRUCTURE:
            self.race.halt.make_void(self.side, error)
        if status == SUCCESS and stats and stats.runs > 1:
            self.note(
                f"{stats.runs} runs: median {stats.median_ms:.0f} ms, min {stats.min_ms} ms, "
                f"max {stats.max_ms} ms, spread {stats.spread_ms} ms"
            )
        tail = self._cap.finish()
        if tail:
            self.race.listener.on_output(self.side, tail, self.race.elapsed_ms())
        self.race.listener.on_state(self.side, status)
        self.race.listener.on_side_finished(self.side, result)

    def interrupt(self):
        """Mark a side stopped mid-build (not published: the caller decides what it means)."""
        if not self.done:
            self.result.status = FAILURE
            self.result.error = "cancelled"
            self.result.finished_at = utcnow()
            tail = self._cap.finish()
            if tail:
                self.race.listener.on_output(self.side, tail, self.race.elapsed_ms())
