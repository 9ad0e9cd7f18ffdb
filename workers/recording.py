"""The glue between the build engine (plain Python) and the database.

`run_job(job_id, stop=..., log=...)` runs the race of a job that is already claimed (status
`running`) and records it: both result rows exist (pending) from the start, each side's output
is appended in batches a few times a second with SQL concatenation (never a read-modify-write
of the whole text), and the job's status is re-read about once a second so that a
cancellation from the web, the API or the admin kills the builds within seconds.

Threads: the engine calls the `Recorder` from its own threads; only two threads touch the
database: the monitor thread (flushes and the status check while the race runs) and the
calling thread (setup and the final writes). Each closes its connection when done.
"""

import logging
import threading
import traceback

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from jobs.models import (
    BuildResult,
    BuildStatus,
    BuildType,
    ErrorKind,
    Job,
    JobStatus,
    Verdict,
    success_ms,
)
from jobs.outcomes.vocabulary import BASELINE_FIRST, CANCELLED, COMPLETED, FAILED, INTERRUPTED
from jobs.storage.outputs import compact_result
from workers.engine import EngineConfig, RaceListener, RaceSpec, run_race

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.3
STATUS_CHECK_INTERVAL = 1.0
# Chunks closer together than this share one replay timing line.
TIMING_RESOLUTION_MS = 100


def run_job(job_id, *, stop=None, log=None, progress=None):
    """Run and record the race of a claimed job; returns completed/failed/cancelled/interrupted.

    `progress(kind, side, value)`, when given, receives the engine's events as they happen
    (kind: state, started, output, finished) from the race's threads.
    """
    try:
        return JobRun(str(job_id), stop=stop, log=log, progress=progress).run()
    finally:
        connection.close()


def engine_config(worker_name=""):
    config = EngineConfig.from_settings(settings)
    return config.with_changes(worker_name=worker_name) if worker_name else config


class Recorder(RaceListener):
    """Collects engine events in memory; `write()` puts them in the database."""

    def __init__(self, result_ids, job_id, progress=None):
        self.result_ids = result_ids
        self.job_id = job_id
        self.progress = progress
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._chunks = {side: [] for side in BASELINE_FIRST}
        self._started = {}
        self._phases = {}
        self._building = set()
        self._finished = {}
        self._commit_sha = None
        self._offsets = dict.fromkeys(BASELINE_FIRST, 0)
        self._last_timing_ms = dict.fromkeys(BASELINE_FIRST, None)

    # --- engine events (any thread) -------------------------------------------------------
    def on_commit(self, sha):
        with self._lock:
            self._commit_sha = sha

    def on_state(self, side, state):
        with self._lock:
            self._phases[side] = state
        self._notify("state", side, state)

    def on_side_started(self, side, tool, tool_version):
        with self._lock:
            self._started[side] = (tool, tool_version)
            self._phases[side] = "ready"  # prepared; builds when its turn comes
        self._notify("started", side, (tool, tool_version))

    def on_output(self, side, text, elapsed_ms):
        with self._lock:
            self._chunks[side].append((text, elapsed_ms))
        self._notify("output", side, text)

    def on_side_finished(self, side, result):
        with self._lock:
            self._finished[side] = result
        self._notify("finished", side, result)

    def _notify(self, kind, side, value):
        if self.progress is not None:
            try:
                self.progress(kind, side, value)
            except Exception:  # a display problem must never stop a race
                logger.exception("progress callback failed")

    # --- database writes (monitor thread or calling thread) --------------------------------
    def write(self):
        """Append buffered output, then record what happened since the last write."""
        with self._write_lock:
            with self._lock:
                chunks = {side: self._chunks[side] for side in BASELINE_FIRST}
                self._chunks = {side: [] for side in BASELINE_FIRST}
                started, self._started = self._started, {}
                phases, self._phases = self._phases, {}
                finished, self._finished = self._finished, {}
                sha, self._commit_sha = self._commit_sha, None
            if sha:
                Job.objects.filter(pk=self.job_id).update(commit_sha=sha)
            for side in BASELINE_FIRST:
                if chunks[side]:
                    self._append(side, chunks[side])
            for side, (tool, version) in started.items():
                BuildResult.objects.filter(pk=self.result_ids[side]).update(
                    tool=tool, tool_version=version
                )
            for side, phase in phases.items():
                self._record_phase(side, phase)
            for side, result in finished.items():
                record_side(self.result_ids[side], result)
            return finished

    def _record_phase(self, side, phase):
        """Store what a side is doing; its clock starts when it first builds (the page shows
        cloning and preparing as phases, not as build time)."""
        update = {"phase": phase[:80]}
        if phase.startswith("building") and side not in self._building:
            self._building.add(side)
            update["started_at"] = timezone.now()
        BuildResult.objects.filter(pk=self.result_ids[side], status=BuildStatus.PENDING).update(
            **update
        )

    def _append(self, side, chunks):
        text = "".join(text for text, _ in chunks)
        lines = []
        offset = self._offsets[side]
        for part, elapsed_ms in chunks:
            last = self._last_timing_ms[side]
            if last is None or elapsed_ms - last >= TIMING_RESOLUTION_MS:
                lines.append(f"{offset} {elapsed_ms}\n")
                self._last_timing_ms[side] = elapsed_ms
            offset += len(part)
        self._offsets[side] = offset
        append_output(self.result_ids[side], text, "".join(lines))


def append_output(result_id, text, timing=""):
    """Append to a result's output (and replay timing) in SQL, without reading it back."""
    text_field = TextField()
    updates = {
        "output": Concat(
            Coalesce(F("output"), Value("", output_field=text_field), output_field=text_field),
            Value(text, output_field=text_field),
            output_field=text_field,
        )
    }
    if timing:
        updates["output_timing"] = Concat(
            F("output_timing"), Value(timing, output_field=text_field), output_field=text_field
        )
    BuildResult.objects.filter(pk=result_id).update(**updates)


def record_side(result_id, result):
    """Store a finished side (an engine SideResult)."""
    duration_ms = result.duration_ms
    artifacts = result.artifacts or {}
    BuildResult.objects.filter(pk=result_id).update(
        error_kind=result.error_kind or None,
        artifact_files=artifacts.get("files"),
        artifact_bytes=artifacts.get("bytes"),
        artifact_classes=artifacts.get("classes"),
        status=result.status,
        duration=round(duration_ms / 1000) if duration_ms is not None else 0,
        duration_ms=duration_ms,
        run_times_ms=list(result.run_times_ms),
        bell_rung=result.bell_rung,
        exit_code=result.exit_code,
        tool=result.tool,
        tool_version=result.tool_version,
        error=result.error[:2000],
        jdk=result.jdk[:500],
        phases=dict(result.phases),
        started_at=result.started_at,
        finished_at=result.finished_at or timezone.now(),
    )


class JobRun:
    def __init__(self, job_id, *, stop=None, log=None, progress=None):
        self.job_id = job_id
        self.stop = stop
        self.log = log or (lambda line: None)
        self.progress = progress
        self.cancel = threading.Event()
        self.reason = None  # "cancelled" (the job row says so) or "interrupted" (stop)
        self.race_over = threading.Event()

    def run(self):
        job = Job.objects.filter(pk=self.job_id).first()
        if job is None:
            self.log("job not found")
            return FAILED
        if job.status != JobStatus.RUNNING:
            self.log(f"job is {job.status}, not running: nothing to do")
            return CANCELLED if job.status == JobStatus.CANCELLED else job.status
        # This run owns the job while it stays running under the same claim: a worker that
        # stalled past the dead threshold must not finish the job another worker has re-claimed.
        self.claim = {"worker_id": job.worker_id, "attempts": job.attempts}
        self.result_ids = self._create_results(job)
        self.recorder = Recorder(self.result_ids, self.job_id, self.progress)
        monitor = threading.Thread(target=self._monitor, name=f"monitor-{self.job_id}")
        monitor.start()
        internal_error = ""
        try:
            config = engine_config(job.worker_id or "")
            outcome = run_race(self._spec(job), config, self.recorder, self.cancel)
        except Exception as exc:  # the one place a race's internal error is caught
            self.log(f"internal error: {exc!r}")
            logger.error("race %s failed:\n%s", self.job_id, traceback.format_exc())
            internal_error = f"internal error: {exc}"
        finally:
            self.race_over.set()
            monitor.join()
            self._flush()
        if internal_error:
            return self._fail(internal_error)
        if outcome.status == COMPLETED:
            return self._complete(outcome.verdict)
        if outcome.status == FAILED:
            self.log(outcome.error)
            return self._fail(outcome.error)
        if self.reason == INTERRUPTED:
            self.log("stopped: the builds were killed; the race goes back to the queue")
            return INTERRUPTED
        return self._cancelled()

    def _spec(self, job):
        return RaceSpec(
            repository_url=job.repository_url,
            ref=job.ref,
            mode=job.mode,
            iterations=job.iterations,
            warmups=job.warmups,
            timeout_seconds=job.timeout_seconds,
            standard_cmd=job.standard_cmd,
            elide_cmd=job.elide_cmd,
            race_id=job.pk,
            cache=job.cache,
            scenario=job.scenario,
            adaptive=job.adaptive,
        )

    def _create_results(self, job):
        now = timezone.now()
        with transaction.atomic():
            BuildResult.objects.filter(job=job).delete()
            rows = BuildResult.objects.bulk_create(
                [
                    BuildResult(
                        job=job,
                        build_type=side,
                        status=BuildStatus.PENDING,
                        output="",
                        started_at=now,
                    )
                    for side in BASELINE_FIRST
                ]
            )
        return {row.build_type: row.pk for row in rows}

    def _monitor(self):
        """Flush output a few times a second; notice cancellation and worker shutdown."""
        next_check = 0.0
        try:
            while not self.race_over.wait(FLUSH_INTERVAL):
                try:
                    self._flush()
                    if self.stop is not None and self.stop.is_set() and not self.cancel.is_set():
                        self.reason = INTERRUPTED
                        self.cancel.set()
                    next_check -= FLUSH_INTERVAL
                    if next_check <= 0 and not self.cancel.is_set():
                        next_check = STATUS_CHECK_INTERVAL
                        row = (
                            Job.objects.filter(pk=self.job_id)
                            .values("status", "worker_id", "attempts")
                            .first()
                        )
                        if row is None or row["status"] != JobStatus.RUNNING:
                            self.reason = CANCELLED
                            self.cancel.set()
                        elif {k: row[k] for k in self.claim} != self.claim:
                            self.log("the job was claimed again elsewhere: stopping this copy")
                            self.reason = INTERRUPTED
                            self.cancel.set()
                except Exception as exc:  # a database hiccup must not kill the monitor
                    logger.warning("race %s: recording failed: %r", self.job_id, exc)
                    # A dropped connection (server restart, terminated backend) is useless
                    # from now on; closing it lets the next flush open a fresh one.
                    connection.close()
        finally:
            connection.close()

    def _flush(self):
        for side, result in self.recorder.write().items():
            self._log_side(side, result)

    def _log_side(self, side, result):
        timing = f" in {result.duration_ms} ms" if result.duration_ms is not None else ""
        error = f" ({result.error})" if result.error else ""
        self.log(f"{side} finished: {result.status}{timing}{error}")

    def _owned_job(self):
        """The job row, only while it is running under this run's claim."""
        return Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, **self.claim)

    def _pending_results(self):
        return BuildResult.objects.filter(
            pk__in=list(self.result_ids.values()), status=BuildStatus.PENDING
        )

    def _close_pending(self, error, kind=None):
        for result_id in self._pending_results().values_list("pk", flat=True):
            append_output(result_id, f"[arena] {error}\n")
        self._pending_results().update(
            status=BuildStatus.FAILURE,
            error=error[:2000],
            error_kind=kind,
            finished_at=timezone.now(),
        )

    def _complete(self, verdict):
        """Store the engine's verdict as it returned it (nothing is recomputed here)."""
        with transaction.atomic():
            job = Job.objects.get(pk=self.job_id)
            results = {r.build_type: r for r in BuildResult.objects.filter(job_id=self.job_id)}
            job.apply_verdict(verdict)
            updated = self._owned_job().update(
                status=JobStatus.COMPLETED,
                completed_at=timezone.now(),
                elide_success_ms=success_ms(results.get(BuildType.ELIDE)),
                standard_success_ms=success_ms(results.get(BuildType.STANDARD)),
                **job.verdict_values(),
            )
        self._compact()
        if not updated:
            self.log("the job was cancelled as the race ended")
            return CANCELLED
        speedup = f", speedup {job.speedup:.3f}" if job.speedup else ""
        reason = f" ({job.void_reason})" if job.void_reason else ""
        self.log(f"job completed: verdict {job.verdict}{reason}{speedup}")
        return COMPLETED

    def _fail(self, error):
        """The arena could not run the race: the job fails and its verdict is void."""
        self._close_pending(error, ErrorKind.INFRASTRUCTURE)
        updated = self._owned_job().update(
            status=JobStatus.FAILED,
            error=error[:2000],
            completed_at=timezone.now(),
            verdict=Verdict.VOID,
            void_reason=error[:2000],
        )
        self._compact()
        if not updated:
            return CANCELLED
        self.log(f"job failed: {error}")
        return FAILED

    def _cancelled(self):
        self._close_pending("cancelled")
        self._compact()
        self.log("job cancelled: the builds were killed")
        return CANCELLED

    def _compact(self):
        """Store the finished logs compressed (readers use BuildResult.full_output)."""
        for result_id in self.result_ids.values():
            try:
                compact_result(result_id)
            except Exception as exc:
                logger.warning("could not compact result %s: %r", result_id, exc)
