"""The verdict's races run through the engine: its fixtures."""

from tests.workers.engine.conftest import config, repo  # noqa: F401 (fixtures)
