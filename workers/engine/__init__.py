"""The build engine: plain Python, no ORM. Give it a race spec, get output events and results.

    from workers.engine import EngineConfig, RaceSpec, run_race
    outcome = run_race(RaceSpec(url), EngineConfig(workspace_root=...), listener, cancel)

workers/recording.py connects it to the database; docs/ENGINE.md describes how it works.
"""

from workers.engine.config import EngineConfig
from workers.engine.racing.race import RaceListener, RaceOutcome, RaceSpec, run_race
from workers.engine.racing.results import SideResult

__all__ = ["EngineConfig", "RaceListener", "RaceOutcome", "RaceSpec", "SideResult", "run_race"]
