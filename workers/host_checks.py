"""A worker's periodic checks of its host: the toolchain probe and the noise-floor calibration.

Both run in one thread of their own, the calibration right after the probe (they start JVMs:
seconds, more on a busy host), so that they never delay the loop's heartbeats or claims. The
loop takes what they found and stores it on its row (`WorkerLoop.probe_toolchains`), so that
only the loop's thread writes the row. An interval of 0 turns a check off.
"""

import threading

from django.conf import settings


class HostChecks:
    """When the probe and the calibration are due, their thread, and what they found."""

    def __init__(self, *, probe, calibrate, clock, log):
        # Called with no arguments: probe() returns the host's toolchains
        # (workers/engine/tools/toolchains.py), calibrate() its NoiseFloor
        # (workers/engine/measuring/calibration.py); None: that check is not run.
        self.probe = probe
        self.calibrate = calibrate
        self.clock = clock
        self.log = log
        self.probe_interval = settings.ARENA_TOOLCHAIN_PROBE_INTERVAL
        self.calibration_interval = settings.ARENA_CALIBRATION_INTERVAL
        self.next_probe = 0.0
        self.next_calibration = 0.0
        self.thread = None
        self._found = []
        self._calibrated = []

    def take_results(self):
        """(toolchains, NoiseFloor) found since the last call, each None when not there yet;
        each is there as soon as its check ends: the probe's before the calibration ends."""
        if self.thread is not None and not self.thread.is_alive():
            self.thread = None
        found = self._found.pop() if self._found else None
        floor = self._calibrated.pop() if self._calibrated else None
        return found, floor

    def start_due(self):
        """Start the checks that are due in a thread of their own, unless one still runs."""
        if self.thread is not None:
            return
        now = self.clock()
        probe_due = self.probe is not None and self.probe_interval > 0 and self.next_probe <= now
        calibration_due = (
            self.calibrate is not None
            and self.calibration_interval > 0
            and self.next_calibration <= now
        )
        if probe_due:
            self.next_probe = now + self.probe_interval
        if calibration_due:
            self.next_calibration = now + self.calibration_interval
        if probe_due or calibration_due:
            self.thread = threading.Thread(
                target=self._run,
                args=(probe_due, calibration_due),
                name="host-checks",
                daemon=True,
            )
            self.thread.start()

    def _run(self, probe, calibrate):
        if probe:
            try:
                self._found.append(self.probe())
            except Exception as error:  # a probe problem must not stop the worker
                self.log(f"toolchain probe failed: {error!r}")
        if calibrate:
            try:
                self._calibrated.append(self.calibrate())
            except Exception as error:  # nor a calibration problem
                self.log(f"noise floor calibration failed: {error!r}")
