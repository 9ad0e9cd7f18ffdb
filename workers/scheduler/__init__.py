"""The worker pool's rules, written against the database: the only thing workers share.

Every function here is one short transaction, safe to run from any number of workers on any
number of hosts at once. Lock order is always "worker row, then job rows", so that claims,
releases and reaping never deadlock one another on PostgreSQL; on SQLite every transaction is
IMMEDIATE (see settings), which serializes writers, and `retry_when_busy` retries the rare
"database is locked" that outlives the busy timeout.

Time comes in as `now` so that tests can drive the time-dependent rules (heartbeat age, dead
workers, retention) with a controlled clock.
"""

from workers.scheduler.base import (
    LIVE_STATUSES,
    AssignmentOutcome,
    claim_defer_window,
    dead_before,
    retry_when_busy,
)
from workers.scheduler.claims import Claim, claim_job, fail_job, release_job
from workers.scheduler.health import PoolHealth, describe_pool, no_live_workers, pool_health
from workers.scheduler.recovery import (
    Maintenance,
    delete_retired_workers,
    maintain_pool,
    reap_dead_workers,
)
from workers.scheduler.registry import (
    heartbeat,
    record_toolchains,
    register_worker,
    retire_worker,
    running_elsewhere,
    set_worker_status,
)
from workers.scheduler.requeue import RequeueRefused, requeue_job

__all__ = [
    "LIVE_STATUSES",
    "AssignmentOutcome",
    "Claim",
    "Maintenance",
    "PoolHealth",
    "RequeueRefused",
    "claim_defer_window",
    "claim_job",
    "dead_before",
    "delete_retired_workers",
    "describe_pool",
    "fail_job",
    "heartbeat",
    "maintain_pool",
    "no_live_workers",
    "pool_health",
    "reap_dead_workers",
    "record_toolchains",
    "register_worker",
    "release_job",
    "requeue_job",
    "retire_worker",
    "retry_when_busy",
    "running_elsewhere",
    "set_worker_status",
]
