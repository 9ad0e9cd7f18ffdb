"""One worker process: takes queued races from the database and runs each in a thread.

The loop is thin: `tick()` does one unit of work (heartbeat and housekeeping when due, start
or finish draining, claim one job) and returns whether more may be waiting, so the loop only
sleeps when there is nothing to do. Tests call the unit methods directly.

Each race runs in its own thread (`RunningRace`, workers/running_race.py) through
`workers.recording.run_job`, which streams output into the database and notices cancellation;
when it returns, the same thread closes the assignment (`scheduler.release_job`), which also
brings `current_load` back to the number of races still running.

Signals only set flags (`handle_signal`); the loop acts on them: the first stops claiming and
lets running races finish within ARENA_WORKER_GRACE_PERIOD, then stops them (they go back to
the queue); the second stops them at once.
"""

import signal
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from workers import noise_floor, scheduler
from workers.engine.checkout.workspace import remove_abandoned
from workers.engine.config import EngineConfig
from workers.engine.measuring.cpuaccount import remove_stale as remove_stale_accounts
from workers.engine.tools.toolchains import summary as toolchain_summary
from workers.host_checks import HostChecks
from workers.models import WorkerStatus
from workers.running_race import RunningRace, default_run_job, run_and_release
from workers.signals import pool_maintained

# How long the loop waits for race threads to stop once told to (their builds get killed).
STOP_WAIT_SECONDS = 10.0
# The loop's sleeps are cut into slices this long so that signal flags are seen quickly.
SLEEP_SLICE_SECONDS = 0.1


class WorkerLoop:
    """The worker process's loop (the database row is workers.models.Worker)."""

    def __init__(
        self,
        worker_id,
        *,
        hostname,
        capacity=2,
        max_jobs=None,
        once=False,
        run_job=default_run_job,
        write=print,
        pid=None,
        clock=time.monotonic,
        listen=None,
        probe=None,
        calibrate=None,
    ):
        self.worker_id = worker_id
        self.hostname = hostname
        self.capacity = capacity
        self.max_jobs = max_jobs
        self.once = once
        self.run_job = run_job
        self.pid = pid
        self.clock = clock
        # listen(wake, log) -> a listener with stop(), or None: what wakes an idle loop the
        # moment a job is queued (workers/queue_listener.py); polling is the fallback.
        self.listen = listen
        self.listener = None
        # The toolchain probe and the calibration run_worker passes (None: not run here).
        self.host_checks = HostChecks(probe=probe, calibrate=calibrate, clock=clock, log=self.log)
        self.heartbeat_interval = settings.ARENA_HEARTBEAT_INTERVAL
        self.poll_interval = settings.ARENA_WORKER_POLL_INTERVAL
        self.grace_period = settings.ARENA_WORKER_GRACE_PERIOD
        self.dead_after = settings.ARENA_WORKER_DEAD_AFTER
        # When this worker's heartbeat last reached the database, and from when it may reap
        # others again after its own heartbeats were held up (note_own_stall).
        self.last_beat = None
        self.reap_from = 0.0

        self.races = {}  # job id -> RunningRace, guarded by self.lock
        self.lock = threading.Lock()
        self.wake = threading.Event()  # set by a race thread when it ends
        self._write = write
        self._write_lock = threading.Lock()

        self.status = None  # the row's status as last seen
        self.taken = 0
        self.finished = 0
        self.next_heartbeat = 0.0
        # Flags set by signal handlers (and nothing else happens in a handler).
        self.stop_requested = False
        self.kill_requested = False
        self.signal_number = None
        # Draining state, managed by the loop.
        self.drain_deadline = None
        self.races_stopped = False

    # --- output ------------------------------------------------------------------------------

    def log(self, message):
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
        with self._write_lock:
            self._write(f"{stamp} [{self.worker_id}] {message}")

    # --- signals -----------------------------------------------------------------------------

    def handle_signal(self, signum, frame=None):
        """First signal: drain. Second: stop everything now. Only sets flags."""
        if self.stop_requested:
            self.kill_requested = True
        self.stop_requested = True
        self.signal_number = signum

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, self.handle_signal)
        signal.signal(signal.SIGINT, self.handle_signal)

    # --- state -------------------------------------------------------------------------------

    @property
    def running(self):
        with self.lock:
            return len(self.races)

    def running_job_ids(self):
        with self.lock:
            return sorted(self.races)

    def accepting(self):
        """Whether this worker should claim another job now."""
        return (
            not self.stop_requested
            and self.status == WorkerStatus.ACTIVE
            and self.running < self.capacity
            and (self.max_jobs is None or self.taken < self.max_jobs)
        )

    def finished_everything(self):
        """--max-jobs reached, or a drain completed: nothing runs and nothing more will."""
        if self.running:
            return False
        if self.stop_requested:
            return True
        return self.max_jobs is not None and self.taken >= self.max_jobs

    # --- unit methods ------------------------------------------------------------------------

    def start(self):
        worker = scheduler.register_worker(
            self.worker_id, hostname=self.hostname, capacity=self.capacity, pid=self.pid
        )
        self.status = worker.status
        self.last_beat = self.clock()
        self.next_heartbeat = self.last_beat + self.heartbeat_interval
        if self.listen is not None:
            self.listener = self.listen(self.wake, self.log)
        self.probe_toolchains()
        # Workspaces (and their quota mounts) of races a killed worker left behind.
        swept = remove_abandoned(EngineConfig.from_settings(settings).workspace_root)
        if swept:
            self.log(f"removed {swept} abandoned workspace(s) and unmounted their filesystems")
        remove_stale_accounts()  # empty CPU-accounting cgroups of a killed worker's builds
        note = " (in maintenance: takes no jobs until activated)" if self.in_maintenance else ""
        self.log(f"registered on {self.hostname}, capacity {self.capacity}{note}")
        self.housekeeping()
        return worker

    @property
    def in_maintenance(self):
        return self.status == WorkerStatus.MAINTENANCE

    def tick(self):
        """One cycle of the loop. Returns True when more work may be waiting right now."""
        close_old_connections()
        self.beat_if_due()
        self.probe_toolchains()
        if self.stop_requested:
            self.drain()
            return False
        if not self.accepting():
            return False
        return self.claim_one()

    def probe_toolchains(self):
        """Store a finished toolchain probe and noise-floor calibration on this worker's row;
        start the next when either is due (workers/host_checks.py). Only this loop's thread
        writes the row. Returns what a finished probe found, else None."""
        found, floor = self.host_checks.take_results()
        if found is not None:
            scheduler.record_toolchains(self.worker_id, found)
            self.log(f"toolchains: {toolchain_summary(found)}")
        if floor is not None:
            noise_floor.record(self.worker_id, floor)
            self.log(f"noise floor: {noise_floor.percent(floor.spread)} ({floor.pairs} A/A pairs)")
        self.host_checks.start_due()
        return found

    @property
    def probe_thread(self):
        """The thread of the host checks while they run, else None."""
        return self.host_checks.thread

    def beat_if_due(self):
        """Heartbeat and pool housekeeping, every ARENA_HEARTBEAT_INTERVAL."""
        if self.clock() < self.next_heartbeat:
            return False
        self.next_heartbeat = self.clock() + self.heartbeat_interval
        self.beat()
        return True

    def beat(self):
        status = scheduler.heartbeat(self.worker_id)
        if status is None:
            self.rejoin()
            return
        if status != self.status:
            self.log(f"status is now {status}")
            self.status = status
        self.note_own_stall()
        self.housekeeping()

    def note_own_stall(self):
        """A heartbeat that reached the database more than ARENA_WORKER_DEAD_AFTER after the
        last one means the database (or this host) stalled, and every other worker's heartbeat
        was held up as this one was. A live worker's may land a moment after this one, so
        reaping waits one more ARENA_WORKER_DEAD_AFTER: long enough for any live worker to beat
        again, and a dead one is reaped that much later."""
        beaten = self.clock()
        gap = beaten - self.last_beat if self.last_beat is not None else 0.0
        self.last_beat = beaten
        if gap > self.dead_after:
            self.reap_from = beaten + self.dead_after
            self.log(
                f"this worker's heartbeat was held up {gap:.0f} s (the database or this host "
                f"stalled): no other worker is reaped for {self.dead_after:g} s"
            )

    def housekeeping(self):
        """Reap dead workers (recovering their races) and delete long-inactive ones."""
        result = scheduler.maintain_pool(reap=self.clock() >= self.reap_from)
        for worker_id in result.reaped:
            self.log(f"worker {worker_id} stopped responding: marked inactive")
        for job_id in result.requeued:
            self.log(f"job {job_id} handed back to the queue (its worker was lost)")
        for job_id in result.failed:
            self.log(f"job {job_id} failed: its worker was lost on its last attempt")
        if result.deleted:
            self.log(f"deleted {result.deleted} long-inactive worker(s)")
        for receiver, error in pool_maintained.send_robust(
            sender=type(self), worker_id=self.worker_id
        ):
            if isinstance(error, Exception):
                self.log(f"housekeeping of {receiver.__module__} failed: {error!r}")

    def rejoin(self):
        """This worker was presumed dead (or deleted) while alive: its jobs were handed to
        others, so it stops its own copies of them and registers again."""
        self.log("this worker was marked inactive by the pool; stopping its races and rejoining")
        self.stop_races()
        self.wait_for_races(STOP_WAIT_SECONDS)
        worker = scheduler.register_worker(
            self.worker_id, hostname=self.hostname, capacity=self.capacity, pid=self.pid
        )
        self.status = worker.status

    def claim_one(self):
        """Claim one queued job and start its race. Returns whether one was claimed."""
        claim = scheduler.claim_job(self.worker_id)
        if claim is None:
            return False
        self.taken += 1
        job = claim.job
        self.log(
            f"took job {job.pk} ({job.repository_name}), attempt {job.attempts}, "
            f"load {claim.load}/{claim.capacity}"
        )
        self.start_race(job.pk)
        return True

    def start_race(self, job_id):
        race = RunningRace(job_id=job_id, thread=None)
        race.thread = threading.Thread(
            target=self._run_in_thread, args=(race,), name=f"race-{job_id}", daemon=True
        )
        with self.lock:
            self.races[job_id] = race
        race.thread.start()
        return race

    def _run_in_thread(self, race):
        """Thread body: run the race and close its assignment, then let the loop know."""
        try:
            run_and_release(race, worker_id=self.worker_id, run_job=self.run_job, log=self.log)
        finally:
            with self.lock:
                self.races.pop(race.job_id, None)
                self.finished += 1
            self.wake.set()

    def drain(self):
        """After the first signal: no new jobs; stop the races once the grace period ends."""
        if self.drain_deadline is None:
            self.drain_deadline = self.clock() + self.grace_period
            self.log(
                f"stopping: taking no new jobs; {self.running} race(s) running, "
                f"waiting up to {self.grace_period:g} s for them"
            )
            # Others must not wait for this worker to take jobs.
            if self.status == WorkerStatus.ACTIVE:
                scheduler.set_worker_status(self.worker_id, WorkerStatus.MAINTENANCE)
                self.status = WorkerStatus.MAINTENANCE
        if self.running and not self.races_stopped and self.clock() >= self.drain_deadline:
            self.log(f"grace period over: stopping {self.running} race(s); they will be requeued")
            self.stop_races()

    def stop_races(self):
        with self.lock:
            races = list(self.races.values())
        for race in races:
            race.stop.set()
        self.races_stopped = True

    def wait_for_races(self, timeout):
        deadline = self.clock() + timeout
        while self.running and self.clock() < deadline:
            self.wake.wait(SLEEP_SLICE_SECONDS)
            self.wake.clear()
        return self.running == 0

    def kill(self):
        """After the second signal: stop every race now, give their jobs back, exit."""
        self.log(f"stopping now: killing {self.running} running race(s)")
        self.stop_races()
        if not self.wait_for_races(STOP_WAIT_SECONDS):
            for job_id in self.running_job_ids():
                scheduler.release_job(
                    self.worker_id, job_id, scheduler.AssignmentOutcome.INTERRUPTED
                )

    def shutdown(self):
        if self.listener is not None:
            self.listener.stop()
        scheduler.retire_worker(self.worker_id)
        self.log(f"stopped after {self.finished} race(s): marked inactive")

    def sleep(self):
        """Wait up to one poll interval; wake early when a race ends, a job is queued
        (notification) or a signal arrives."""
        deadline = self.clock() + self.poll_interval
        flags = (self.stop_requested, self.kill_requested)
        while self.clock() < deadline and flags == (self.stop_requested, self.kill_requested):
            if self.wake.wait(min(SLEEP_SLICE_SECONDS, max(0.0, deadline - self.clock()))):
                break
        self.wake.clear()

    # --- the loop ------------------------------------------------------------------------------

    def run(self):
        """Register, loop until told to stop or done, retire. Returns the exit status."""
        self.start()
        while True:
            if self.kill_requested:
                self.kill()
                self.shutdown()
                return 128 + (self.signal_number or signal.SIGTERM)
            try:
                more = self.tick()
            except DatabaseError as exc:
                self.log(f"database error: {exc}; retrying")
                more = False
            if self.finished_everything():
                break
            if self.once and not more and not self.running and not self.stop_requested:
                break
            if not more:
                self.sleep()
        self.shutdown()
        return 0
