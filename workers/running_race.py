"""One race of a worker, in a thread of its own: run it, then close its assignment.

`WorkerLoop.start_race` (workers/worker.py) starts the thread; `run_and_release` is its body
(named apart from `workers.engine.run_race`, which it reaches through `run_job`). The race
streams its output into the database through `workers.recording.run_job`; when it returns, the
same thread closes the assignment (`scheduler.release_job`), which also brings the worker's
`current_load` back to the number of races still running. A database that stalls mid-race
gives the job back to the queue instead of failing it.
"""

import threading
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, InterfaceError, OperationalError, connection

from workers import scheduler

# How long a finished race keeps trying to close its assignment while the database is
# unavailable; after that the job stays `running` until this worker restarts or is reaped.
RELEASE_RETRY_SECONDS = 120.0
# Errors of a database that is stalled, restarting or unreachable (not bugs of the race).
UNAVAILABLE = (OperationalError, InterfaceError)


@dataclass
class RunningRace:
    """A race this worker runs: its job, its thread, the event that stops it, its outcome."""

    job_id: str
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)
    outcome: str | None = None


def default_run_job(job_id, *, stop=None, log=None):
    from workers.recording import run_job

    return run_job(job_id, stop=stop, log=log)


def run_and_release(race, *, worker_id, run_job, log):
    """Thread body: run the race, then close its assignment; sets `race.outcome`. Never raises
    for the race's or the database's sake."""
    outcome = scheduler.AssignmentOutcome.ERROR
    try:
        outcome = run_job(
            race.job_id,
            stop=race.stop,
            log=lambda line: log(f"job {race.job_id}: {line}"),
        )
    except UNAVAILABLE as exc:
        # The database stalled or dropped the connection mid-race: not the race's fault,
        # so the job goes back to the queue (release_job requeues it while it is ours).
        log(f"job {race.job_id}: database unavailable, giving the job back: {exc!r}")
        connection.close()
        outcome = scheduler.AssignmentOutcome.INTERRUPTED
    except Exception as exc:
        log(f"job {race.job_id}: internal error: {exc!r}")
        try:
            scheduler.fail_job(worker_id, race.job_id, f"internal error: {exc}")
        except DatabaseError as db_exc:
            log(f"job {race.job_id}: could not record the failure: {db_exc}")
    try:
        status = release_with_retry(worker_id, race.job_id, outcome, log)
        verb = "back in the queue" if status == "queued" else status
        log(f"job {race.job_id} finished ({outcome}): {verb}")
    except DatabaseError as exc:
        log(f"job {race.job_id}: could not close its assignment: {exc}")
    finally:
        connection.close()
        race.outcome = outcome


def release_with_retry(worker_id, job_id, outcome, log):
    """release_job, retried while the database is unavailable (a stall must not leave
    the job `running` on a live worker that no longer runs it)."""
    deadline = time.monotonic() + RELEASE_RETRY_SECONDS
    delay = 0.25
    while True:
        try:
            return scheduler.release_job(worker_id, job_id, outcome)
        except UNAVAILABLE as exc:
            if time.monotonic() >= deadline:
                raise
            log(f"job {job_id}: could not close its assignment yet ({exc}); retrying")
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
