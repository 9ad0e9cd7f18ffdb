"""The worker's noise floor: calibrated at start and every ARENA_CALIBRATION_INTERVAL (0: never)
in the probe's background thread and stored on its row. The pages that show it are tested in
tests/workers/test_noise_floor_pages.py, the real calibration in the shipped `run_worker` in
tests/system/test_shipped_worker.py, the Java workload in
tests/workers/engine/measuring/test_calibration.py."""

import threading

import pytest
from django.utils import timezone

from tests.support import wait_until
from workers.engine.measuring.calibration import NoiseFloor, spread_of
from workers.models import Worker
from workers.worker import WorkerLoop

pytestmark = pytest.mark.django_db(transaction=True)

FLOOR = NoiseFloor(spread=spread_of([1.021, 0.99, 1.0]), pairs=3, ratios=(1.021, 0.99, 1.0))


def row(worker_id="w1"):
    return Worker.objects.get(pk=worker_id)


def make_loop(settings, calibrate, *, interval=3600, probe=None, clock=None, lines=None):
    settings.ARENA_CALIBRATION_INTERVAL = interval
    settings.ARENA_HEARTBEAT_INTERVAL = 3600
    write = lines.append if lines is not None else (lambda line: None)
    worker = WorkerLoop(
        "w1",
        hostname="test-host",
        write=write,
        probe=probe,
        calibrate=calibrate,
        clock=clock or (lambda: 1000.0),
    )
    worker.start()
    return worker


def finish_checks(worker):
    """Wait for the background thread, then let the loop store what it found."""
    if worker.probe_thread is not None:
        worker.probe_thread.join(10)
    return worker.probe_toolchains()


def test_the_floor_is_calibrated_at_start_and_again_when_due(settings):
    now = [1000.0]
    calls = []

    def calibrate():
        calls.append(now[0])
        return FLOOR

    lines = []
    worker = make_loop(settings, calibrate, interval=600, clock=lambda: now[0], lines=lines)
    finish_checks(worker)
    assert calls == [1000.0]
    stored = row()
    assert stored.noise_floor == {"spread": 0.021, "pairs": 3, "ratios": [1.021, 0.99, 1.0]}
    assert stored.calibrated_at is not None
    assert abs((timezone.now() - stored.calibrated_at).total_seconds()) < 60
    assert any("noise floor: ±2.1% (3 A/A pairs)" in line for line in lines)
    now[0] += 599
    worker.tick()
    assert worker.probe_thread is None and calls == [1000.0]
    now[0] += 2
    worker.tick()
    finish_checks(worker)
    assert calls == [1000.0, 1601.0]


def test_an_interval_of_zero_never_calibrates(settings):
    calls = []
    now = [1000.0]
    worker = make_loop(settings, lambda: calls.append(1) or FLOOR, interval=0, clock=lambda: now[0])
    for _ in range(3):
        now[0] += 10_000
        worker.tick()
        finish_checks(worker)
    assert calls == [] and worker.probe_thread is None
    assert row().noise_floor is None and row().calibrated_at is None


def test_the_calibration_runs_after_the_probe_whose_result_is_stored_first(settings):
    settings.ARENA_TOOLCHAIN_PROBE_INTERVAL = 300
    release = threading.Event()
    order = []

    def probe():
        order.append("probe")
        return {"elide": {"ok": True, "version": "1.0.0"}}

    def calibrate():
        order.append("calibration")
        release.wait(10)
        return FLOOR

    worker = make_loop(settings, calibrate, probe=probe)
    try:
        assert worker.probe_thread is not None
        # The probe's toolchains reach the row while the calibration still runs.
        assert wait_until(lambda: worker.probe_toolchains() or row().runs_elide, timeout=10)
        assert row().runs_elide and row().noise_floor is None
        assert order == ["probe", "calibration"] and worker.probe_thread.is_alive()
    finally:
        release.set()
    finish_checks(worker)
    assert row().noise_floor["pairs"] == 3


def test_a_failed_calibration_is_logged_and_keeps_the_last_floor(settings):
    now = [1000.0]
    outcomes = [FLOOR, OSError("no javac")]

    def calibrate():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    lines = []
    worker = make_loop(settings, calibrate, interval=60, clock=lambda: now[0], lines=lines)
    finish_checks(worker)
    now[0] += 61
    worker.tick()
    finish_checks(worker)
    assert any("noise floor calibration failed: OSError('no javac')" in line for line in lines)
    assert row().noise_floor["spread"] == 0.021
