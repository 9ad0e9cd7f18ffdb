"""`manage.py run_worker`: one worker process of the pool (see docs/WORKERS.md)."""

import argparse
import os
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from workers import scheduler
from workers.checks import describe, host_can_build
from workers.queue_listener import start_queue_listener
from workers.scheduler.base import FOREGROUND_PREFIX, is_foreground
from workers.worker import WorkerLoop


def positive_int(value):
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


class Command(BaseCommand):
    help = "Run a worker: take queued races from the database and run them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--capacity", type=positive_int, default=2, help="Races run at once (default 2)."
        )
        parser.add_argument(
            "--worker-id",
            default="",
            help="This worker's id, unique in the pool and stable across restarts "
            "(default: the host name).",
        )
        parser.add_argument(
            "--hostname",
            default="",
            help="Host name recorded for this worker (default: this host's).",
        )
        parser.add_argument(
            "--max-jobs", type=positive_int, default=None, help="Exit after taking this many races."
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run what is queued now, then exit when the queue is empty.",
        )

    def handle(self, *args, capacity, worker_id, hostname, max_jobs, once, **options):
        hostname = hostname.strip() or socket.gethostname()
        worker_id = worker_id.strip() or hostname
        if len(worker_id) > 128:
            raise CommandError("--worker-id must be at most 128 characters.")
        if is_foreground(worker_id):
            raise CommandError(
                f"--worker-id must not start with {FOREGROUND_PREFIX!r}: "
                "such ids belong to `manage.py race` commands."
            )
        pid = os.getpid()
        try:
            other = scheduler.running_elsewhere(worker_id, hostname=hostname, pid=pid)
        except DatabaseError as exc:
            raise CommandError(f"Cannot reach the database: {exc}") from exc
        if other is not None:
            raise CommandError(
                f"Worker {worker_id} is already running on {other.hostname} (pid {other.pid}); "
                "give this one its own --worker-id."
            )
        worker = WorkerLoop(
            worker_id,
            hostname=hostname,
            capacity=capacity,
            max_jobs=max_jobs,
            once=once,
            pid=pid,
            write=self.stdout.write,
            listen=start_queue_listener,
            probe=probe_host,
            calibrate=calibrate_host,
        )
        # What this host can build with, said once at start (workers/checks.py).
        for line in describe(host_can_build()):
            self.stdout.write(line)
        worker.install_signal_handlers()
        try:
            status = worker.run()
        except DatabaseError as exc:
            raise CommandError(f"Database error: {exc}") from exc
        if status:
            raise SystemExit(status)


def probe_host():
    """The toolchains this worker's races would use (the ARENA_* settings), probed under the
    host's measurement lock: the probe starts JVMs, which must not slow a measured build."""
    from workers.engine.measuring.measure import measurement_lock
    from workers.engine.tools.toolchains import probe
    from workers.recording import engine_config

    config = engine_config()
    with measurement_lock(config.measure_lock_path):
        return probe(config)


def calibrate_host():
    """The host's noise floor: the A/A calibration (workers/engine/measuring/calibration.py)
    with the default JDK of this worker's races, its measured runs under the measurement lock."""
    from django.conf import settings

    from workers.engine.measuring.calibration import calibrate
    from workers.engine.measuring.measure import measurement_lock
    from workers.engine.tools.toolchains import default_java
    from workers.recording import engine_config

    config = engine_config()
    return calibrate(
        default_java(config),
        pairs=settings.ARENA_CALIBRATION_PAIRS,
        rounds=settings.ARENA_CALIBRATION_ROUNDS,
        lock=lambda: measurement_lock(config.measure_lock_path),
    )
