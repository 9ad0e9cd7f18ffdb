"""A suite's results read per Elide version: the headline of each version, the repository x
version table and the trend across versions (/versions/, /api/versions).

Each repository counts once per version, by its newest measured race under that version
(the version its Elide side reported, so a race that ran on a worker with another version
counts for that one). The headline is the geometric mean of those speedups with a seeded
bootstrap interval over repositories, as the leaderboard's headline is drawn.
"""

import math
from dataclasses import dataclass, field

from jobs.choices import JobStatus, Verdict
from jobs.leaderboard.headline import HEADLINE_RESAMPLES
from jobs.models import Job
from jobs.outcomes.verdict import bootstrap_interval
from suites.announce import MEASURED_VERDICTS, raced_elide_version
from suites.models import SuiteRace, VersionChange
from suites.versions import sort_key


@dataclass
class VersionResult:
    suite: str
    version: str
    jobs: dict = field(default_factory=dict)  # repository name -> newest measured Job
    void: int = 0  # repositories whose newest race under the version was void
    completed_at: object = None

    @property
    def speedups(self):
        return {name: job.speedup for name, job in self.jobs.items() if job.speedup}

    @property
    def headline(self):
        logs = [math.log(value) for value in self.speedups.values()]
        if not logs:
            return {"speedup": None, "ci95": None}
        mean = sum(logs) / len(logs)
        interval = bootstrap_interval(
            logs, lambda xs: sum(xs) / len(xs), resamples=HEADLINE_RESAMPLES, seed=len(logs)
        )
        return {
            "speedup": round(math.exp(mean), 4),
            "ci95": [round(math.exp(x), 4) for x in interval] if interval else None,
        }

    def as_json(self):
        return {
            "tool": "elide",
            "version": self.version,
            "suite": self.suite,
            "repositories": len(self.jobs),
            "void": self.void,
            "headline": self.headline,
            "completedAt": self.completed_at.isoformat() if self.completed_at else None,
        }


def version_results(suite=None):
    """[VersionResult], newest version first (one per suite and Elide version)."""
    races = SuiteRace.objects.select_related("run__suite").order_by("job__created_at")
    if suite is not None:
        races = races.filter(run__suite=suite)
    jobs = Job.objects.filter(
        pk__in=races.values("job_id"), status__in=(JobStatus.COMPLETED, JobStatus.FAILED)
    ).prefetch_related("results")
    finished = {job.pk: job for job in jobs}
    results = {}
    for race in races:
        job = finished.get(race.job_id)
        if job is None:
            continue
        version = raced_elide_version(job, race.run)
        if not version:
            continue
        key = (race.run.suite.name, version)
        result = results.setdefault(key, VersionResult(suite=key[0], version=version))
        if job.verdict in MEASURED_VERDICTS and job.speedup:
            result.jobs[job.repository_name] = job
        elif job.verdict == Verdict.VOID or job.status == JobStatus.FAILED:
            result.void += 1
        when = job.completed_at
        if when and (result.completed_at is None or when > result.completed_at):
            result.completed_at = when
    return sorted(results.values(), key=lambda r: (r.suite, sort_key(r.version)), reverse=True)


def version_table(results):
    """(versions oldest first, [(repository, [job or None per version])]) for one suite."""
    versions = sorted({r.version for r in results}, key=sort_key)
    by_version = {r.version: r.jobs for r in results}
    repositories = sorted({name for r in results for name in r.jobs})
    rows = [(name, [by_version[v].get(name) for v in versions]) for name in repositories]
    return versions, rows


def version_trend_geometry(results, *, width=640, height=240, pad=40):
    """Points and interval bars of each version's headline, oldest first, for the SVG chart."""
    points = [(r.version, r.headline) for r in sorted(results, key=lambda r: sort_key(r.version))]
    points = [(version, h) for version, h in points if h["speedup"]]
    if not points:
        return None
    values = [h["speedup"] for _, h in points]
    values += [x for _, h in points if h["ci95"] for x in h["ci95"]]
    top, bottom = max(max(values), 1.0) * 1.1, min(min(values), 1.0) * 0.9
    step = (width - 2 * pad) / max(1, len(points) - 1)

    def y(value):
        return round(height - pad - (value - bottom) / (top - bottom) * (height - 2 * pad), 1)

    marks = []
    for index, (version, h) in enumerate(points):
        x = round(pad + index * step, 1)
        low, high = h["ci95"] or (h["speedup"], h["speedup"])
        marks.append(
            {"x": x, "y": y(h["speedup"]), "low": y(low), "high": y(high), "version": version,
             "speedup": h["speedup"]}
        )  # fmt: skip
    return {
        "width": width,
        "height": height,
        "marks": marks,
        "line": " ".join(f"{m['x']},{m['y']}" for m in marks),
        "one": y(1.0),
        "ticks": [{"y": y(v), "value": v} for v in _ticks(bottom, top)],
        "left": pad,
        "right": width - pad,
    }


def _ticks(bottom, top, count=4):
    span = (top - bottom) / count
    return [bottom + span * (i + 0.5) for i in range(count)]


def changes(kind=None):
    """VersionChange rows, newest first, with their races."""
    rows = VersionChange.objects.select_related("suite", "from_job", "to_job")
    return rows.filter(kind=kind) if kind else rows


def change_json(change):
    return {
        "repository": change.repository_name,
        "suite": change.suite.name,
        "tool": change.tool,
        "fromVersion": change.from_version,
        "toVersion": change.to_version,
        "change": round(change.change, 4),
        "ci95": [round(change.ci_low, 4), round(change.ci_high, 4)],
        "kind": change.kind,
        "jobs": [change.from_job_id, change.to_job_id],
    }


def latest_version_headline(min_repositories):
    """The leaderboard's headline taken from the newest Elide version's suite results
    (ARENA_HEADLINE_SOURCE=suite): the same shape as jobs.leaderboard.headline.headline, with
    the suite and version it speaks of, or a reason when no version has enough repositories."""
    results = version_results()
    newest = max(results, key=lambda r: sort_key(r.version), default=None)
    found = newest.headline if newest else {"speedup": None, "ci95": None}
    repositories = len(newest.speedups) if newest else 0
    needed = max(0, min_repositories - repositories)
    answer = {
        "speedup": found["speedup"] if not needed else None,
        "ci95": found["ci95"] if not needed else None,
        "races": len(newest.jobs) if newest else 0,
        "repositories": repositories,
        "includesDemo": False,
        "repositoriesNeeded": needed,
        "reason": "",
        "source": "suite",
        "suite": newest.suite if newest else None,
        "version": newest.version if newest else None,
    }
    if newest is None:
        answer["reason"] = "No suite has been raced yet: no speedup claimed."
    elif needed or found["ci95"] is None:
        answer["speedup"] = answer["ci95"] = None
        answer["reason"] = (
            f"No speedup claimed yet: Elide {newest.version}'s suite run measured "
            f"{repositories} repositories; {max(needed, 1)} more needed."
        )
    return answer
