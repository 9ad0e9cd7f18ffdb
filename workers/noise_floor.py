"""A worker's noise floor on its row, and how pages and the API speak of it.

The worker measures it (workers/engine/measuring/calibration.py, run by the worker loop at start and
every ARENA_CALIBRATION_INTERVAL) and stores it here; /workers/, /api/status and the race
page read it back. The race page reaches it through jobs/live/pool.py (jobs never imports
workers), registered in workers/apps.py.
"""

from dataclasses import dataclass

from django.utils import timezone

from jobs.templatetags.arena import age
from workers.engine.measuring.calibration import within
from workers.models import Worker

NOT_CALIBRATED = "not calibrated yet"


def record(worker_id, floor, *, now=None):
    """Store a finished calibration (a NoiseFloor) on the worker's row. Returns rows updated."""
    return Worker.objects.filter(pk=worker_id).update(
        noise_floor=floor.as_json(), calibrated_at=now or timezone.now()
    )


def percent(spread):
    """0.0213 -> "±2.1%"."""
    return f"±{spread * 100:.1f}%"


def summary(noise_floor, calibrated_at):
    """One line for lists: "±2.1% (5 A/A pairs, 12 min ago)", or "not calibrated yet"."""
    if not noise_floor:
        return NOT_CALIBRATED
    pairs = noise_floor["pairs"]
    return (
        f"{percent(noise_floor['spread'])} "
        f"({pairs} A/A pair{'' if pairs == 1 else 's'}, {age(calibrated_at)})"
    )


@dataclass(frozen=True)
class HostNoiseFloor:
    """The floor of the host that measured a race, as its page shows it."""

    worker_id: str
    spread: float
    pairs: int
    calibrated_at: object

    @property
    def percent(self):
        return percent(self.spread)

    @property
    def summary(self):
        return summary({"spread": self.spread, "pairs": self.pairs}, self.calibrated_at)

    def covers(self, speedup):
        """Whether this host cannot tell `speedup` from its own noise."""
        return bool(speedup) and within(speedup, self.spread)


def host_noise_floor(worker_id):
    """The last calibrated floor of the worker `worker_id`, or None (one query)."""
    row = Worker.objects.filter(pk=worker_id).values("noise_floor", "calibrated_at").first()
    if row is None or not row["noise_floor"]:
        return None
    return HostNoiseFloor(
        worker_id=worker_id,
        spread=row["noise_floor"]["spread"],
        pairs=row["noise_floor"]["pairs"],
        calibrated_at=row["calibrated_at"],
    )
