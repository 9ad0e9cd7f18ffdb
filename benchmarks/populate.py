"""Bulk data for the database benchmark: N races shaped like a busy arena's history.

90 % completed (both sides finished, winner and speedup set), the rest failed, cancelled,
queued or running, over a few hundred repositories and two years. Each finished side carries
`log_kb` KB of realistic Maven/Gradle output, stored the way the arena stores a finished side
(compacted by jobs.storage.outputs), or as plain text with `compact=False`.
"""

import datetime
import math
import random
import uuid

from django.db import transaction
from django.utils import timezone

from jobs.leaderboard.summary_rebuild import rebuild_summary
from jobs.models import BuildResult, Job
from jobs.storage.compression import compress_text, compress_timing
from jobs.submissions.repositories import SUGGESTED_REPOSITORIES
from tests.buildlogs import maven_log

SUGGESTED = [name for names in SUGGESTED_REPOSITORIES.values() for name in names]
REPOSITORIES = SUGGESTED + [f"org{i % 97}/project-{i}" for i in range(500 - len(SUGGESTED))]
# How many distinct logs to generate; rows reuse them (sizes are what matter, not content).
LOG_POOL_SIZE = 64


class LogPool:
    def __init__(self, log_kb, *, compact):
        self.compact = compact
        self.entries = []
        for seed in range(LOG_POOL_SIZE if log_kb else 0):
            text = maven_log(log_kb * 1024, seed=seed, gradle=seed % 3 == 0)
            text += "\n🔔 BUILD COMPLETE 🔔\nStatus: SUCCESS\n"
            timing = replay_timing(len(text), random.Random(seed))  # noqa: S311
            if compact:
                self.entries.append((compress_text(text), compress_timing(timing)))
            else:
                self.entries.append((text, timing))

    def columns(self, rng):
        if not self.entries:
            return {}
        first, second = rng.choice(self.entries)
        if self.compact:
            return {"output_compressed": first, "output_timing_compressed": second}
        return {"output": first, "output_timing": second}


def replay_timing(length, rng):
    """Timing lines as the engine writes them: a chunk every few hundred ms, some pauses."""
    lines, offset, ms = [], 0, 0
    while offset < length:
        lines.append(f"{offset} {ms}\n")
        offset += rng.randint(20, 600)
        ms += rng.randint(200, 400) if rng.random() < 0.9 else rng.randint(1000, 9000)
    return "".join(lines)


def _status(rng):
    roll = rng.random()
    if roll < 0.90:
        return "completed"
    if roll < 0.95:
        return "failed"
    if roll < 0.98:
        return "cancelled"
    return "queued" if roll < 0.99 else "running"


def _job_and_results(rng, created, pool, status=None):
    status = status or _status(rng)
    repo = REPOSITORIES[min(int(rng.paretovariate(1.2)) - 1, len(REPOSITORIES) - 1)]
    repo = repo if rng.random() < 0.7 else rng.choice(REPOSITORIES)
    job = Job(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        repository_url=f"https://github.com/{repo}",
        repository_name=repo,
        status=status,
        created_at=created,
        attempts=0 if status == "queued" else 1,
        commit_sha="" if status == "queued" else f"{rng.getrandbits(160):040x}",
    )
    if status == "queued":
        return job, []
    job.started_at = created + datetime.timedelta(seconds=rng.randint(1, 60))
    job.worker_id = f"worker-{rng.randint(1, 4)}"
    standard_ms = int(rng.lognormvariate(math.log(60000), 0.6))
    elide_ms = int(standard_ms / rng.lognormvariate(math.log(1.6), 0.3))
    results = []
    for build_type, ms in (("elide", elide_ms), ("standard", standard_ms)):
        finished = status in ("completed", "cancelled", "failed")
        ok = status == "completed" and rng.random() < 0.95
        result = BuildResult(
            job=job,
            build_type=build_type,
            status=("success" if ok else "failure") if finished else "pending",
            duration=ms // 1000 if finished else 0,
            duration_ms=ms if finished else None,
            run_times_ms=[ms] if finished else [],
            bell_rung=finished,
            exit_code=(0 if ok else 1) if finished else None,
            tool="elide" if build_type == "elide" else "maven",
            tool_version="1.0.0" if build_type == "elide" else "3.9.9",
            created_at=job.started_at,
            started_at=job.started_at,
            finished_at=job.started_at + datetime.timedelta(milliseconds=ms) if finished else None,
            **(pool.columns(rng) if finished else {"output": "[INFO] Scanning for projects...\n"}),
        )
        results.append(result)
    if status in ("completed", "failed", "cancelled"):
        job.completed_at = job.started_at + datetime.timedelta(milliseconds=elide_ms + standard_ms)
    if status == "completed":
        job.results_cache = results
        elide, standard = results
        job.summarize(elide, standard)
    if status == "failed":
        job.error = "worker lost"
    return job, results


def populate(
    count, *, log_kb=32, compact=True, seed=0, batch=1000, start=None, completed_only=False
):
    """Insert `count` jobs (and their results); returns the number of completed jobs."""
    rng = random.Random(seed)  # noqa: S311 (reproducible benchmark data)
    pool = LogPool(log_kb, compact=compact)
    start = start or timezone.now() - datetime.timedelta(days=730)
    step = datetime.timedelta(days=730) / max(count, 1)
    completed = 0
    for offset in range(0, count, batch):
        jobs, results = [], []
        for i in range(offset, min(offset + batch, count)):
            status = "completed" if completed_only else None
            job, job_results = _job_and_results(rng, start + step * i, pool, status)
            completed += job.status == "completed"
            jobs.append(job)
            results.extend(job_results)
        with transaction.atomic():
            Job.objects.bulk_create(jobs, batch_size=batch)
            BuildResult.objects.bulk_create(results, batch_size=batch)
    rebuild_summary()  # the leaderboard's summary rows, once, as the seed does
    return completed
