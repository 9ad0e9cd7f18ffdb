"""One side of a race: its recipe, its runs, its output stream and its result."""

import datetime
import shlex
from dataclasses import dataclass, field

from jobs.outcomes.vocabulary import BUILD, FAILURE, INFRASTRUCTURE, PENDING, SUCCESS
from workers.engine import diagnosis
from workers.engine.artifacts import side_artifacts
from workers.engine.bell import BellDetector
from workers.engine.measure import Cancelled, run_stats
from workers.engine.output import OutputCap, TextDecoder
from workers.engine.phases import before_run, choose_jdk
from workers.engine.process import run_process
from workers.engine.recipes import CUSTOM, NO_BUILD_FILE, parse_version, recipe_for

NO_JAR = "no jar produced"

# A version probe keeps at most this much output (a hostile wrapper may print gigabytes).
VERSION_OUTPUT_LIMIT = 64 * 1024
# Seconds between two checks of a side's disk usage while it builds.
DISK_CHECK_INTERVAL = 2.0


def utcnow():
    return datetime.datetime.now(datetime.UTC)


@dataclass
class SideResult:
    side: str
    status: str = PENDING
    tool: str = ""
    tool_version: str = ""
    run_times_ms: list = field(default_factory=list)
    duration_ms: int | None = None
    exit_code: int | None = None
    bell_rung: bool = False
    error: str = ""
    # "infrastructure" (the side could not run), "build" (it ran and failed) or "".
    error_kind: str = ""
    # {"files", "bytes", "classes"} of the jars it produced (None before it finished).
    artifacts: dict | None = None
    # Class names in those jars, for the parity check (not stored).
    class_names: set | None = None
    # The JDK the side built with: "17 (/usr/lib/jvm/java-17-openjdk-amd64)".
    jdk: str = ""
    # clone, the unmeasured prepare phase and the measured runs, in ms (phases.py).
    phases: dict = field(
        default_factory=lambda: {"clone_ms": None, "prepare_ms": None, "runs_ms": []}
    )
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None

    @property
    def stats(self):
        return run_stats(self.run_times_ms)

    @property
    def succeeded(self):
        return self.status == SUCCESS


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
        self._cap = OutputCap(self.config.output_cap_chars, self.config.output_tail_chars)
        self._bells = []
        self._line_open = False
        # The end of the latest run's output, for naming the cause of a failure.
        self._tail = ""

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

    def _stream(self, decoder, bell):
        def on_bytes(data):
            text = decoder.decode(data)
            if bell is not None:
                bell.feed(text)
            self._tail = (self._tail + text)[-diagnosis.TAIL_CHARS :]
            self.say(text)

        return on_bytes

    def _owner(self):
        identity = self.race.sandbox.identity
        return (identity.uid, identity.gid) if identity else None

    def _disk_watch(self):
        limit_mb = self.config.max_disk_mb
        if not limit_mb:
            return None
        workspace = self.race.workspace

        def check():
            used = workspace.disk_usage(self.side)
            if used > limit_mb * 1024 * 1024:
                return (
                    f"the build used more than {limit_mb} MB of disk (its source copy and home; "
                    "ARENA_BUILD_MAX_DISK_MB) and was stopped"
                )
            return ""

        return (DISK_CHECK_INTERVAL, check)

    def _run(self, argv, *, timeout, cpus=None, bell=None, collect=None, max_output=None):
        decoder = TextDecoder()
        on_bytes = self._stream(decoder, bell)
        if collect is not None:
            inner = on_bytes

            def on_bytes(data):
                collect.append(data)
                inner(data)

        workspace = self.race.workspace
        launch = self.race.sandbox.launch(
            argv,
            workdir=workspace.src(self.side),
            home=workspace.home(self.side),
            side_dir=workspace.side_dir(self.side),
            cpus=cpus,
            ro_paths=self.recipe.ro_paths if self.recipe else (),
            watch=self._disk_watch(),
            java_home=self.java_home,
        )
        self.say(f"{self._newline()}$ {shlex.join(argv)}\n")
        self._tail = ""
        outcome = run_process(
            launch,
            timeout=timeout,
            on_output=on_bytes,
            cancel=self.race.cancel,
            kill_grace=self.config.kill_grace,
            max_output=max_output,
        )
        rest = decoder.flush()
        if bell is not None:
            bell.feed(rest)
        self.say(rest)
        return outcome

    # --- lifecycle ------------------------------------------------------------------------
    def prepare(self):
        """Pick the recipe and probe the toolchain version; a side that cannot build ends here."""
        self.result.started_at = utcnow()
        self.race.listener.on_state(self.side, "preparing")
        sandbox = self.race.sandbox
        src = self.race.workspace.fresh_copy(self.side, self._owner())
        for warning in sandbox.warnings:
            self.say(warning + "\n")
        self.recipe = recipe_for(
            self.side, self.race.workspace.src(self.side), self.config, self.custom_argv
        )
        self.result.tool = self.recipe.tool
        error = (
            sandbox.error or sandbox.workspace_error(src) or self.recipe.error or choose_jdk(self)
        )
        if error:
            self.race.listener.on_side_started(self.side, self.result.tool, "")
            self.note(error)
            kind = BUILD if self.recipe.error == NO_BUILD_FILE else INFRASTRUCTURE
            self.finish(FAILURE, error, kind=kind)
            return
        if self.recipe.version_argv:
            output = []
            outcome = self._run(
                self.recipe.version_argv,
                timeout=self.config.version_timeout,
                collect=output,
                max_output=VERSION_OUTPUT_LIMIT,
            )
            if outcome.cancelled:
                raise Cancelled()
            if outcome.timed_out or outcome.error:
                reason = "timed out" if outcome.timed_out else outcome.error
                self.note(f"version probe {reason}; the version is unknown")
            elif outcome.exit_code == 0:
                version = parse_version(
                    b"".join(output).decode("utf-8", "replace"), self.recipe.tool
                )
                if version and self.recipe.wrapper:
                    # The repository's own script said so: shown as its claim, not as fact.
                    version = f"{version} (reported by {self.recipe.wrapper})"
                self.result.tool_version = version
        self.race.listener.on_side_started(self.side, self.result.tool, self.result.tool_version)

    def run_once(self, index, cpus=None):
        """Build once from a fresh copy; a failed run ends the side."""
        warmups, iterations = self.race.spec.warmups, self.race.spec.iterations
        warmup = index < warmups
        label = (
            f"warm-up {index + 1}/{warmups}"
            if warmup
            else f"run {index - warmups + 1}/{iterations}"
        )
        self.race.listener.on_state(self.side, f"building ({label})")
        if warmups + iterations > 1:
            self.say(f"\n=== {label}{' (not measured)' if warmup else ''} ===\n")
        error = before_run(self, index + 1)
        if error:  # the cache or the source change could not be set up: the arena's problem
            self.note(error)
            self.finish(FAILURE, error, kind=INFRASTRUCTURE)
            return
        bell = BellDetector()
        timeout = self.race.timeout
        measured_ms = 0
        outcome = None
        for step in self.recipe.steps:
            outcome = self._run(step.argv, timeout=timeout, cpus=cpus, bell=bell)
            if step.measured:
                measured_ms += outcome.elapsed_ms
            timeout = max(timeout - outcome.elapsed_ms / 1000, 0.001)
            if not outcome.ok:
                break
        if outcome.cancelled:
            raise Cancelled()
        self._bells.append(bell.rung)
        self.result.exit_code = outcome.exit_code
        if not warmup:
            self.result.run_times_ms.append(measured_ms)
        error, kind = self._run_error(outcome, bell)
        if error:
            self.note(error)
            if not self.result.run_times_ms:
                self.result.run_times_ms.append(measured_ms)
            self.finish(FAILURE, error, kind=kind)

    def _run_error(self, outcome, bell):
        """(message, error kind) of a run that failed, ("", "") otherwise."""
        if outcome.timed_out:
            return (
                f"timed out after {self.race.timeout:g} s; the build's processes were killed",
                BUILD,
            )
        if outcome.error:  # the process could not be started: the arena's problem
            return outcome.error, INFRASTRUCTURE
        if outcome.exit_code != 0:
            cause = diagnosis.explain(self._tail)
            return f"the build exited with code {outcome.exit_code}" + (
                f": {cause}" if cause else ""
            ), BUILD
        if bell.reported_failure:
            return "the build exited 0 but its bell reported failure", BUILD
        return "", ""

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
        for note in found.notes[:5]:
            self.note(f"artifact {note}")
        if found.files:
            self.note(
                f"artifacts: {found.files} jar(s), {found.bytes} bytes, {found.classes} classes"
            )
        elif self.recipe is not None and self.recipe.tool != CUSTOM:
            self.note(NO_JAR)
            self.finish(FAILURE, NO_JAR, kind=BUILD)

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
