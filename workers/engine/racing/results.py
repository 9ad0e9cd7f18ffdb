"""What one side of a race comes to: the `SideResult` the engine returns and the recorder
stores, kept apart from the runner that fills it in (side.py)."""

import datetime
from dataclasses import dataclass, field

from jobs.outcomes.vocabulary import PENDING, SUCCESS
from workers.engine.measuring.measure import run_stats


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
    # "infrastructure" (the side could not run), "build" (it ran and failed) or "":
    # the kind of the side's failure (failures.py).
    error_kind: str = ""
    # {"files", "bytes", "classes"} of the jars it produced (None before it finished).
    artifacts: dict | None = None
    # Class names, {class: class-file major version} and resource entries of those jars, for
    # the parity check (not stored).
    class_names: set | None = None
    class_versions: dict | None = None
    resources: set | None = None
    # The JDK the side built with: "17 (/usr/lib/jvm/java-17-openjdk-amd64)".
    jdk: str = ""
    # clone, the unmeasured prepare phase and the measured runs, in ms (phases.py), and the
    # artifacts each measured run downloaded (downloads.py; None where the tool does not say).
    phases: dict = field(
        default_factory=lambda: {
            "clone_ms": None,
            "prepare_ms": None,
            "runs_ms": [],
            "downloads": [],
            # Every measured run, repeated ones included: {"ms", "noisy", "hostNoise",
            # "repeated"} (noise.py); run_times_ms keeps only the runs that count.
            "runs": [],
        }
    )
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None

    @property
    def stats(self):
        return run_stats(self.run_times_ms)

    @property
    def succeeded(self):
        return self.status == SUCCESS
