"""`manage.py race SOURCE`: run one race in the foreground, no worker needed.

The command registers in the pool as "race@<host>:<pid>" (in maintenance: it heartbeats but
takes no queued job) and creates its job directly in status `running` under that id, so no
worker claims it; then `workers.recording.run_job` runs and records it like any race. If the
command's process dies, its heartbeats stop and the pool fails the job with the reason: a race
that may run an operator's custom commands is never rerun by a pool worker. The terminal shows each
side's state, elapsed time and last output line while it runs, then a table of the results.
Exit status 0 when the race ran (even if a side failed); 1 with one line when it could not.
"""

import argparse
import os
import shlex
import signal
import socket
import threading
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from jobs.models import BuildResult, CacheMode, JobStatus, RaceMode, Scenario, percent_faster
from jobs.outcomes.vocabulary import BASELINE_FIRST, FAILURE, SUCCESS
from jobs.submissions.services import QueueFull, cancel_job, create_job
from jobs.submissions.validation import AUTO, measured_runs
from workers import scheduler
from workers.engine.measuring.measure import run_stats
from workers.recording import run_job
from workers.scheduler.base import FOREGROUND_PREFIX

REDRAW_SECONDS = 0.5
# Without a terminal, a running side's progress line is repeated this often.
PLAIN_PROGRESS_SECONDS = 5.0


def runs_or_auto(value):
    """--iterations: a whole number of at least 1, or "auto" (adaptive runs)."""
    if str(value).strip().lower() == AUTO:
        return AUTO
    return whole_number(1)(value)


def whole_number(minimum):
    def parse(value):
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {value!r}"
            )
        return number

    return parse


def command_list(option, value):
    """An operator's command string split like a shell would, never run through one."""
    if value is None:
        return None
    try:
        argv = shlex.split(value)
    except ValueError as exc:
        raise CommandError(f"{option}: {exc}") from None
    if not argv:
        raise CommandError(f"{option}: the command is empty")
    return argv


def seconds(ms):
    return "-" if ms is None else f"{ms / 1000:.2f} s"


class Progress:
    """What the terminal shows: each side's state, start time and last output line."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = dict.fromkeys(BASELINE_FIRST, "waiting")
        self.since = dict.fromkeys(BASELINE_FIRST, time.monotonic())
        self.last_line = dict.fromkeys(BASELINE_FIRST, "")
        self.partial = dict.fromkeys(BASELINE_FIRST, "")
        self.events = []  # lines to print now (state changes, finished sides)
        self.output = []  # (side, line) of build output, for --verbosity 2

    def __call__(self, kind, side, value):
        with self.lock:
            if kind == "state":
                if value != self.state[side] and value not in (SUCCESS, FAILURE):
                    self.state[side] = value
                    self.events.append(f"{side}: {value}")
            elif kind == "started":
                tool, version = value
                self.events.append(f"{side}: {tool}{f' ({version})' if version else ''}")
            elif kind == "output":
                text = self.partial[side] + value
                lines = text.split("\n")
                self.partial[side] = lines.pop()
                for line in lines:
                    self.output.append((side, line))
                    if line.strip():
                        self.last_line[side] = line.strip()
            elif kind == "finished":
                self.state[side] = value.status
                ms = f" in {value.duration_ms} ms" if value.duration_ms is not None else ""
                error = f": {value.error}" if value.error else ""
                self.events.append(f"{side}: {value.status}{ms}{error}")

    def take(self):
        with self.lock:
            events, self.events = self.events, []
            output, self.output = self.output, []
            return events, output

    def lines(self, width=100):
        now = time.monotonic()
        with self.lock:
            rows = []
            for side in BASELINE_FIRST:
                elapsed = now - self.since[side]
                row = f"{side:<9} {self.state[side]:<28} {elapsed:7.1f}s  {self.last_line[side]}"
                rows.append(row[:width])
            return rows


class Command(BaseCommand):
    help = "Run a race in the foreground: clone, build both sides, measure and record it."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Repository URL (or local path when allowed).")
        parser.add_argument("--ref", default="", help="Branch, tag or commit to build.")
        # The web's defaults: a one-run race measures nothing a verdict could rest on.
        parser.add_argument(
            "--iterations",
            type=runs_or_auto,
            default=settings.ARENA_DEFAULT_RUNS,
            help='Measured runs a side, or "auto": pairs until the verdict is clear, at most '
            "ARENA_MAX_RUNS (default: ARENA_DEFAULT_RUNS).",
        )
        parser.add_argument(
            "--warmups", type=whole_number(0), default=settings.ARENA_DEFAULT_WARMUPS
        )
        parser.add_argument("--mode", choices=RaceMode.values, default=RaceMode.SEQUENTIAL)
        parser.add_argument(
            "--cache",
            choices=CacheMode.values,
            default=CacheMode.WARM,
            help="cold: every run starts from an empty dependency cache (downloads measured); "
            "warm: an unmeasured prepare build fills the cache first.",
        )
        parser.add_argument(
            "--scenario",
            choices=Scenario.values,
            default=Scenario.CLEAN,
            help="clean build, noop rebuild, or incremental rebuild after a one-line change.",
        )
        parser.add_argument("--standard-cmd", help="Custom command for the standard side.")
        parser.add_argument("--elide-cmd", help="Custom command for the elide side.")
        parser.add_argument(
            "--timeout", type=whole_number(1), help="Per-run build timeout in seconds."
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        hostname = socket.gethostname()
        self.worker_id = f"{FOREGROUND_PREFIX}{hostname}:{os.getpid()}"
        scheduler.register_worker(self.worker_id, hostname=hostname, capacity=1, pid=os.getpid())
        try:
            job = self.create_job(options)
            self.stdout.write(
                f"race {job.pk}: {job.repository_name}{f' @ {job.ref}' if job.ref else ''} "
                f"({job.mode}, cache {job.cache}, scenario {job.scenario}, "
                f"{'up to ' if job.adaptive else ''}{job.iterations} run(s)"
                f"{' (adaptive)' if job.adaptive else ''}, {job.warmups} warm-up(s))"
            )
            outcome = self.run(job)
        finally:
            scheduler.retire_worker(self.worker_id)
        job.refresh_from_db()
        self.print_table(job)
        if outcome == "failed":
            raise CommandError(f"the race could not run: {job.error}")
        if outcome != "completed":
            raise CommandError(f"the race was {outcome} before it finished")

    def create_job(self, options):
        fields = {
            "mode": options["mode"],
            "cache": options["cache"],
            "scenario": options["scenario"],
            **dict(
                zip(("iterations", "adaptive"), measured_runs(options["iterations"]), strict=True)
            ),
            "warmups": options["warmups"],
            "timeout_seconds": options["timeout"],
            "standard_cmd": command_list("--standard-cmd", options["standard_cmd"]),
            "elide_cmd": command_list("--elide-cmd", options["elide_cmd"]),
        }
        try:
            return create_job(
                options["source"],
                ref=options["ref"],
                status=JobStatus.RUNNING,
                worker_id=self.worker_id,
                started_at=timezone.now(),
                attempts=1,
                **fields,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except QueueFull as exc:
            raise CommandError(str(exc)) from None

    def run(self, job):
        progress = Progress()
        result = {}
        interrupted = threading.Event()

        def target():
            result["outcome"] = run_job(job.pk, log=lambda line: None, progress=progress)

        def on_signal(signum, frame):
            interrupted.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        thread = threading.Thread(target=target, name=f"race-{job.pk}")
        thread.start()
        try:
            self.watch(thread, progress, interrupted, job)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return result.get("outcome", "failed")

    def watch(self, thread, progress, interrupted, job):
        tty = hasattr(self.stdout, "isatty") and self.stdout.isatty()
        verbose = self.verbosity >= 2
        drawn = 0
        last_plain = time.monotonic()
        next_heartbeat = time.monotonic() + settings.ARENA_HEARTBEAT_INTERVAL
        cancelled = False
        while thread.is_alive():
            thread.join(REDRAW_SECONDS)
            if time.monotonic() >= next_heartbeat:
                next_heartbeat = time.monotonic() + settings.ARENA_HEARTBEAT_INTERVAL
                self.beat()
            if interrupted.is_set() and not cancelled:
                cancelled = True
                cancel_job(job.pk)
                self.stdout.write("cancelling: the builds are being killed")
            events, output = progress.take()
            if tty and drawn:
                self.stdout.write(f"\x1b[{drawn}F\x1b[J", ending="")
                drawn = 0
            for side, line in output if verbose else ():
                self.stdout.write(f"{side:>8} | {line}")
            for event in events:
                self.stdout.write(event)
            if tty and thread.is_alive():
                rows = progress.lines()
                for row in rows:
                    self.stdout.write(row)
                drawn = len(rows)
            elif not tty and time.monotonic() - last_plain >= PLAIN_PROGRESS_SECONDS:
                last_plain = time.monotonic()
                for row in progress.lines():
                    self.stdout.write(row)
            self.stdout.flush()
        if tty and drawn:
            self.stdout.write(f"\x1b[{drawn}F\x1b[J", ending="")

    def beat(self):
        """Tell the pool this command is alive; a database hiccup only skips one beat."""
        try:
            if scheduler.heartbeat(self.worker_id) is None:
                self.stdout.write("the pool presumed this command dead and failed its race")
        except DatabaseError as exc:
            self.stdout.write(f"heartbeat failed ({exc}); retrying")

    def print_table(self, job):
        results = {r.build_type: r for r in BuildResult.objects.filter(job_id=job.pk)}
        if not results:
            return
        write = self.stdout.write
        write("")
        write(f"{'side':<9} {'status':<8} {'median':>10} {'runs':>5}  {'min..max':<19} bell  tool")
        for side in BASELINE_FIRST:
            result = results.get(side)
            if result is None:
                continue
            stats = run_stats(result.run_times_ms) if result.status == SUCCESS else None
            median = f"{stats.median_ms / 1000:.3f} s" if stats else "-"
            span = f"{stats.min_ms / 1000:.3f}..{stats.max_ms / 1000:.3f} s" if stats else ""
            runs = len(result.run_times_ms)
            tool = result.tool + (f" ({result.tool_version})" if result.tool_version else "")
            write(
                f"{side:<9} {result.status:<8} {median:>10} {runs:>5}  {span:<19} "
                f"{'yes' if result.bell_rung else 'no ':<4}  {tool}"
            )
            if result.error:
                write(f"{'':<9} {result.error}")
        write("")
        write(
            f"{'side':<9} {'clone':>9} {'prepare':>9}  measured runs ({job.cache} cache, "
            f"{job.scenario})  jdk"
        )
        for side in BASELINE_FIRST:
            result = results.get(side)
            if result is None:
                continue
            phases = result.phases or {}
            runs = " ".join(seconds(ms) for ms in phases.get("runs_ms") or []) or "-"
            write(
                f"{side:<9} {seconds(phases.get('clone_ms')):>9} "
                f"{seconds(phases.get('prepare_ms')):>9}  {runs}  {result.jdk or '-'}"
            )
        write("")
        if job.speedup:
            interval = job.speedup_ci95
            ci = (
                f" ({job.speedup_ci_level:.0%} CI {interval[0]:.2f}x-{interval[1]:.2f}x)"
                if interval
                else " (no interval: fewer than 3 runs a side)"
            )
            percent = percent_faster(job.speedup)
            direction = "faster" if percent >= 0 else "slower"
            write(f"speedup: {job.speedup:.2f}x{ci}   elide {abs(percent):.1f}% {direction}")
        if job.void_reason:
            write(f"could not run: {job.void_reason}")
        write(f"verdict: {job.verdict or 'none'}   status: {job.status}   commit: {job.commit_sha}")
