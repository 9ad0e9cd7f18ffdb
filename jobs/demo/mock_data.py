"""Demo races: the original's five mock jobs, and random realistic races for demos and benchmarks.

Every row made here has `is_mock=True`. Each side gets plausible build output ending with the
bell block and replay timing lines ("<character offset where the chunk starts> <elapsed ms>"),
so the race page, the replay and the leaderboard work on mock data as on real races.
"""

import dataclasses
import datetime
import math
import random
import uuid

from django.db import transaction
from django.utils import timezone

from jobs.leaderboard.summary_rebuild import rebuild_summary
from jobs.models import BuildResult, BuildStatus, BuildType, Job, JobStatus
from jobs.storage.bulk_insert import insert_instances
from jobs.submissions.repositories import SUGGESTED_REPOSITORIES

BELL = "🔔 BUILD COMPLETE 🔔"


@dataclasses.dataclass(frozen=True)
class MockRace:
    id: str
    repository: str
    elide_seconds: int
    standard_seconds: int
    tool: str = "maven"


# The original's seed endpoint: names and seconds (elide vs standard), all won by elide.
MOCK_RACES = (
    MockRace("mock-job-1", "spring-projects/spring-petclinic", 45, 78),
    MockRace("mock-job-2", "apache/commons-lang", 32, 55),
    MockRace("mock-job-3", "google/guava", 89, 142),
    MockRace("mock-job-4", "square/okhttp", 41, 63, tool="gradle"),
    MockRace("mock-job-5", "junit-team/junit5", 67, 98, tool="gradle"),
)

# The original form's suggestions, by size (STANDARD_SECONDS gives their build times).
REPOSITORIES = SUGGESTED_REPOSITORIES
SIZE_WEIGHTS = {"small": 5, "medium": 4, "large": 1}
STANDARD_SECONDS = {"small": (15, 60), "medium": (60, 300), "large": (300, 900)}
GRADLE_REPOSITORIES = frozenset(
    {
        "square/okio",
        "square/okhttp",
        "square/retrofit",
        "junit-team/junit5",
        "mockito/mockito",
        "spring-projects/spring-boot",
        "spring-projects/spring-framework",
        "apache/kafka",
        "elastic/elasticsearch",
        "gradle/gradle",
    }
)
TOOL_VERSIONS = {"maven": "3.9.6", "gradle": "8.5", "elide": "1.0.0-beta8"}


def tool_for(repository):
    return "gradle" if repository in GRADLE_REPOSITORIES else "maven"


def standard_log(repository, tool, seconds, success, sources):
    artifact = repository.split("/")[1]
    if tool == "gradle":
        lines = [
            "$ gradle build -x test",
            "Starting a Gradle Daemon (subsequent builds will be faster)",
            "> Task :compileJava",
            "> Task :processResources",
            "> Task :classes",
            "> Task :jar",
        ]
        if success:
            lines += ["> Task :assemble", "> Task :build", "", f"BUILD SUCCESSFUL in {seconds}s"]
        else:
            lines += [
                f"> Task :compileJava FAILED ({sources} sources)",
                "* What went wrong:",
                "Execution failed for task ':compileJava'.",
                "",
                f"BUILD FAILED in {seconds}s",
            ]
    else:
        lines = [
            "$ mvn -B package -DskipTests",
            "[INFO] Scanning for projects...",
            f"[INFO] Building {artifact} 1.0-SNAPSHOT",
            f"[INFO] --- maven-compiler-plugin:3.11.0:compile (default-compile) @ {artifact} ---",
            f"[INFO] Compiling {sources} source files to target/classes",
        ]
        if success:
            lines += [
                f"[INFO] --- maven-jar-plugin:3.3.0:jar (default-jar) @ {artifact} ---",
                f"[INFO] Building jar: target/{artifact}-1.0-SNAPSHOT.jar",
                "[INFO] BUILD SUCCESS",
                f"[INFO] Total time:  {seconds}.000 s",
            ]
        else:
            lines += [
                "[ERROR] COMPILATION ERROR :",
                "[ERROR] Failed to execute goal maven-compiler-plugin:3.11.0:compile",
                "[INFO] BUILD FAILURE",
                f"[INFO] Total time:  {seconds}.000 s",
            ]
    return [*lines, "", BELL, "Status: SUCCESS" if success else "Status: FAILURE"]


def elide_log(repository, tool, seconds, success, sources):
    artifact = repository.split("/")[1]
    lines = [
        "$ elide build",
        f"Resolving dependencies for {artifact}",
        f"Compiling {sources} Java sources",
    ]
    if success:
        lines += [f"Built .dev/artifacts/jvm/jars/{artifact}.jar in {seconds}s"]
    else:
        lines += ["error: compilation failed (see above)", f"Build failed after {seconds}s"]
    return [*lines, "", BELL, "Status: SUCCESS" if success else "Status: FAILURE"]


def with_timing(lines, total_ms, rng):
    """Join lines into output and make replay timing: one chunk of 1-3 lines at a time."""
    chunks, index = [], 0
    while index < len(lines):
        size = rng.randint(1, 3)
        chunks.append("".join(line + "\n" for line in lines[index : index + size]))
        index += size
    output_parts, timing_lines, offset = [], [], 0
    for position, chunk in enumerate(chunks):
        # Most of the time goes to compiling: elapsed time grows like a steep curve.
        fraction = (position / max(len(chunks) - 1, 1)) ** 2
        timing_lines.append(f"{offset} {int(total_ms * fraction)}")
        output_parts.append(chunk)
        offset += len(chunk)
    return "".join(output_parts), "\n".join(timing_lines) + "\n"


DEMO_RUNS = 3


def demo_runs(ms, rng):
    """Three measured runs around `ms` (its median), 0.1-0.4% apart like steady real runs: a
    demo race has an interval and a verdict, and equal times still tie (one run never wins)."""
    spread = rng.uniform(0.001, 0.004)
    return [round(ms * (1 - spread)), ms, round(ms * (1 + spread))]


def build_result(job, build_type, *, tool, ms, success, started_at, rng, sources, repository):
    seconds = max(round(ms / 1000), 1)
    make_log = elide_log if build_type == BuildType.ELIDE else standard_log
    lines = make_log(repository, tool, seconds, success, sources)
    output, timing = with_timing(lines, ms, rng)
    side_tool = "elide" if build_type == BuildType.ELIDE else tool
    return BuildResult(
        job=job,
        build_type=build_type,
        status=BuildStatus.SUCCESS if success else BuildStatus.FAILURE,
        duration=seconds,
        duration_ms=ms,
        run_times_ms=demo_runs(ms, rng),
        output=output,
        output_timing=timing,
        bell_rung=True,
        exit_code=0 if success else 1,
        tool=side_tool,
        tool_version=TOOL_VERSIONS[side_tool],
        created_at=started_at,
        started_at=started_at,
        finished_at=started_at + datetime.timedelta(milliseconds=ms),
    )


def seed_original_mock_jobs(now=None):
    """Insert the original's five mock races that are missing. Returns how many were added."""
    now = now or timezone.now()
    existing = set(
        Job.objects.filter(pk__in=[race.id for race in MOCK_RACES]).values_list("pk", flat=True)
    )
    added = 0
    rng = random.Random(2024)  # noqa: S311 (demo text, not security)
    with transaction.atomic():
        for position, race in enumerate(MOCK_RACES):
            if race.id in existing:
                continue
            created = now - datetime.timedelta(hours=position + 1)
            job, results = demo_race(
                race.id, race.repository, race.tool, rng=rng, created=created,
                started=created + datetime.timedelta(seconds=2), sources=rng.randint(80, 900),
                ms=(race.standard_seconds * 1000, race.elide_seconds * 1000),
            )  # fmt: skip
            job.save(force_insert=True)
            BuildResult.objects.bulk_create(results)
            added += 1
    return added


def random_race(rng, now, spread_days=90):
    """One random completed race: (job, [standard result, elide result]), not saved."""
    size = rng.choices(list(SIZE_WEIGHTS), weights=list(SIZE_WEIGHTS.values()))[0]
    repository = rng.choice(REPOSITORIES[size])
    tool = tool_for(repository)
    low, high = STANDARD_SECONDS[size]
    standard_ms = int(rng.uniform(low, high) * 1000)
    roll = rng.random()
    standard_ok = elide_ok = True
    if roll < 0.06:  # a tie: within a fraction of a percent
        elide_ms = int(standard_ms * rng.uniform(0.997, 1.003))
    else:
        speedup = min(max(rng.lognormvariate(math.log(1.6), 0.35), 0.6), 5.0)
        elide_ms = max(int(standard_ms / speedup), 500)
        if roll < 0.12:
            elide_ok = False
        elif roll < 0.17:
            standard_ok = False
        elif roll < 0.19:
            elide_ok = standard_ok = False
    if not standard_ok:
        standard_ms = int(standard_ms * rng.uniform(0.1, 0.8))
    if not elide_ok:
        elide_ms = int(elide_ms * rng.uniform(0.1, 0.8))

    created = now - datetime.timedelta(seconds=rng.uniform(60, spread_days * 86400))
    started = created + datetime.timedelta(seconds=rng.uniform(1, 30))
    job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return demo_race(
        job_id, repository, tool, rng=rng, created=created, started=started,
        sources=rng.randint(40, 4000), ms=(standard_ms, elide_ms), ok=(standard_ok, elide_ok),
    )  # fmt: skip


def demo_race(job_id, repository, tool, *, rng, created, started, sources, ms, ok=(True, True)):
    """A completed demo race, judged, not saved: (job, [standard result, elide result]).
    `ms` and `ok` are (standard, elide): each side's time and whether it built."""
    job = Job(
        id=job_id,
        repository_url=f"https://github.com/{repository}",
        repository_name=repository,
        status=JobStatus.COMPLETED,
        created_at=created,
        started_at=started,
        is_mock=True,
        iterations=DEMO_RUNS,
    )
    common = {"tool": tool, "rng": rng, "sources": sources, "repository": repository}
    standard = build_result(
        job, BuildType.STANDARD, ms=ms[0], success=ok[0], started_at=started, **common
    )
    elide_start = standard.finished_at + datetime.timedelta(seconds=1)
    elide = build_result(
        job, BuildType.ELIDE, ms=ms[1], success=ok[1], started_at=elide_start, **common
    )
    job.completed_at = elide.finished_at
    job.summarize(elide, standard)
    return job, [standard, elide]


def seed_random_races(count, *, seed=None, now=None, batch_size=10000, progress=None):
    """Insert `count` random completed races in batches; returns how many were added.

    With the same `seed` the same races (ids included) are generated, so running it twice adds
    nothing the second time. Each batch is one transaction with two bulk loads (COPY on
    PostgreSQL, executemany on SQLite: jobs/storage/bulk_insert.py). The leaderboard's summary
    rows are rebuilt from a full recount at the end (jobs/leaderboard/summary_rebuild.py), in one
    statement.
    """
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    now = now or timezone.now()
    added = 0
    remaining = count
    while remaining > 0:
        size = min(batch_size, remaining)
        remaining -= size
        races = [random_race(rng, now) for _ in range(size)]
        with transaction.atomic():
            ids = [job.pk for job, _ in races]
            taken = set(Job.objects.filter(pk__in=ids).values_list("pk", flat=True))
            new = [(job, results) for job, results in races if job.pk not in taken]
            insert_instances(Job, [job for job, _ in new])
            insert_instances(BuildResult, [result for _, results in new for result in results])
        added += len(new)
        if progress:
            progress(count - remaining, added)
    if added:
        # The leaderboard's summary rows in bulk, once, rather than race by race.
        rebuild_summary()
    return added
