"""import_legacy_db on a database built here with the original app's (Drizzle) schema."""

import sqlite3

import pytest
from django.core.management import CommandError, call_command

from jobs.models import BuildResult, Job

# The original's tables as Drizzle created them: the seed's, plus build_results.container_id,
# build_cache and race_statistics.
ORIGINAL_SCHEMA = """
CREATE TABLE `jobs` (
  `id` text PRIMARY KEY NOT NULL,
  `repository_url` text NOT NULL,
  `repository_name` text NOT NULL,
  `status` text NOT NULL,
  `created_at` integer NOT NULL,
  `started_at` integer,
  `completed_at` integer,
  `worker_id` text
);
CREATE TABLE `build_results` (
  `id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
  `job_id` text NOT NULL,
  `build_type` text NOT NULL,
  `status` text NOT NULL,
  `duration` integer NOT NULL,
  `output` text,
  `bell_rung` integer DEFAULT false,
  `container_id` text,
  `created_at` integer NOT NULL,
  FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
CREATE TABLE `workers` (
  `id` text PRIMARY KEY NOT NULL, `hostname` text NOT NULL, `status` text NOT NULL,
  `capacity` integer DEFAULT 2 NOT NULL, `current_load` integer DEFAULT 0 NOT NULL,
  `last_heartbeat` integer, `created_at` integer NOT NULL, `updated_at` integer NOT NULL
);
CREATE TABLE `worker_assignments` (
  `id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `job_id` text NOT NULL,
  `worker_id` text NOT NULL, `assigned_at` integer NOT NULL, `completed_at` integer
);
CREATE TABLE `build_cache` (
  `cache_key` text PRIMARY KEY NOT NULL, `job_id` text NOT NULL REFERENCES `jobs`(`id`),
  `repository_url` text NOT NULL, `commit_hash` text, `build_tool` text NOT NULL,
  `recording_path` text NOT NULL, `file_size_bytes` integer NOT NULL,
  `duration_ms` integer NOT NULL, `message_count` integer NOT NULL,
  `claude_version` text NOT NULL, `docker_image` text NOT NULL,
  `created_at` integer NOT NULL, `access_count` integer DEFAULT 0 NOT NULL,
  `last_accessed_at` integer
);
CREATE TABLE `race_statistics` (
  `repository_url` text PRIMARY KEY NOT NULL, `total_races` integer NOT NULL,
  `elide_wins` integer NOT NULL, `standard_wins` integer NOT NULL, `ties` integer NOT NULL,
  `avg_elide_duration` integer, `avg_standard_duration` integer, `last_race_at` integer
);
"""

T0 = 1_750_000_000  # 2025-06-15 15:06:40 UTC


def legacy_db(path, *, jobs, results, cache_rows=1):
    connection = sqlite3.connect(path)
    connection.executescript(ORIGINAL_SCHEMA)
    connection.executemany("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", jobs)
    connection.executemany(
        "INSERT INTO build_results (job_id, build_type, status, duration, output, bell_rung,"
        " container_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        results,
    )
    for n in range(cache_rows):
        connection.execute(
            "INSERT INTO build_cache VALUES (?, 'job-a', 'https://github.com/a/b', NULL, 'elide',"
            " '/rec', 10, 1000, 5, '1.0', 'img', ?, 0, NULL)",
            (f"key-{n}", T0),
        )
    connection.execute(
        "INSERT INTO race_statistics VALUES ('https://github.com/a/b', 1, 1, 0, 0, 45, 78, ?)",
        (T0,),
    )
    connection.commit()
    connection.close()
    return path


JOBS = [
    ("job-a", "https://github.com/spring-projects/spring-petclinic",
     "spring-projects/spring-petclinic", "completed", T0, T0 + 5, T0 + 130, "local"),
    ("job-b", "https://github.com/google/guava", "google/guava", "running", T0 + 60, T0 + 61,
     None, "local"),
    ("job-c", "https://gitlab.com/group/proj", "group/proj", "queued", T0 + 120, None, None, None),
]  # fmt: skip
RESULTS = [
    ("job-a", "standard", "success", 78, "[INFO] BUILD SUCCESS\n<b>bold</b>", 1, "c1", T0 + 5),
    ("job-a", "elide", "success", 45, "🔔 BUILD COMPLETE 🔔\nStatus: SUCCESS", 1, "c2", T0 + 90),
    ("job-b", "standard", "pending", 0, "partial...", 0, "c3", T0 + 61),
    ("job-b", "elide", "failure", 12, "error", 1, "c4", T0 + 61),
    ("job-b", "elide", "failure", 13, "error again (newer row)", 1, "c5", T0 + 62),
    ("ghost", "elide", "success", 1, "", 1, "c6", T0),
]


@pytest.fixture
def original_db(tmp_path):
    return legacy_db(tmp_path / "build-arena.db", jobs=JOBS, results=RESULTS)


@pytest.mark.django_db
def test_imports_every_job_and_result(original_db, capsys):
    call_command("import_legacy_db", str(original_db))
    out = capsys.readouterr().out
    assert "Jobs: 3 created, 0 updated, 0 unchanged" in out
    assert "Build results: 4 created" in out
    assert "build_cache (1 rows)" in out and "race_statistics (1 rows)" in out

    job_a = Job.objects.get(pk="job-a")
    assert job_a.status == "completed"
    assert job_a.repository_name == "spring-projects/spring-petclinic"
    assert int(job_a.created_at.timestamp()) == T0
    assert int(job_a.completed_at.timestamp()) == T0 + 130
    # The original measured each side once: a speedup, but one run never names a winner.
    assert (job_a.verdict, job_a.winner) == ("inconclusive", None)
    assert job_a.speedup == pytest.approx(78 / 45)
    standard = job_a.results.get(build_type="standard")
    assert standard.duration == 78 and standard.bell_rung is True
    assert getattr(standard, "full_output", standard.output).endswith("<b>bold</b>")

    # Unfinished legacy rows become finished here, with the reason recorded.
    job_b = Job.objects.get(pk="job-b")
    assert job_b.status == "failed" and "running" in job_b.error
    assert job_b.winner is None
    pending = job_b.results.get(build_type="standard")
    assert pending.status == "failure" and pending.error
    # The newest of two rows for one side wins.
    assert job_b.results.get(build_type="elide").duration == 13
    assert Job.objects.get(pk="job-c").status == "failed"
    assert not Job.objects.filter(pk="ghost").exists()


@pytest.mark.django_db
def test_second_import_changes_nothing_and_updates_changed_rows(original_db, capsys):
    call_command("import_legacy_db", str(original_db))
    capsys.readouterr()
    call_command("import_legacy_db", str(original_db))
    out = capsys.readouterr().out
    assert "Jobs: 0 created, 0 updated, 3 unchanged" in out
    assert "Build results: 0 created, 0 updated, 4 unchanged" in out
    assert Job.objects.count() == 3 and BuildResult.objects.count() == 4

    connection = sqlite3.connect(original_db)
    connection.execute("UPDATE build_results SET duration = 40 WHERE container_id = 'c2'")
    connection.commit()
    connection.close()
    call_command("import_legacy_db", str(original_db))
    out = capsys.readouterr().out
    assert "Jobs: 0 created, 1 updated, 2 unchanged" in out  # its speedup changed
    assert "Build results: 0 created, 1 updated, 3 unchanged" in out
    assert Job.objects.get(pk="job-a").speedup == pytest.approx(78 / 40)


@pytest.mark.django_db
def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_legacy_db", str(tmp_path / "nope.db"))


@pytest.mark.django_db
def test_other_files_are_refused_and_nothing_is_written(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CommandError, match="not a SQLite database"):
        call_command("import_legacy_db", str(text))

    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT)")
    connection.close()
    with pytest.raises(CommandError, match="no `build_results` table"):
        call_command("import_legacy_db", str(other))

    connection = sqlite3.connect(other)
    connection.execute(
        "CREATE TABLE build_results (id INTEGER PRIMARY KEY, job_id TEXT, build_type TEXT,"
        " status TEXT, duration INTEGER, output TEXT, bell_rung INTEGER, created_at INTEGER)"
    )
    connection.close()
    with pytest.raises(CommandError, match="`jobs` lacks column"):
        call_command("import_legacy_db", str(other))
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_rows_missing_required_values_are_skipped_or_repaired(tmp_path, capsys):
    jobs = [
        ("no-name", "https://github.com/square/okio", None, "completed", T0, None, None, None),
        ("no-url", None, "a/b", "completed", T0, None, None, None),
        ("no-date", "https://github.com/a/b", "a/b", "completed", None, None, None, None),
        ("x" * 65, "https://github.com/a/b", "a/b", "completed", T0, None, None, None),
    ]
    path = tmp_path / "loose.db"
    connection = sqlite3.connect(path)
    # A legacy file whose NOT NULLs were not enforced.
    connection.executescript(ORIGINAL_SCHEMA.replace(" NOT NULL,", ","))
    connection.executemany("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", jobs)
    connection.execute(
        "INSERT INTO build_results (job_id, build_type, status, duration, created_at)"
        " VALUES ('no-date', 'elide', 'success', 3, ?)",
        (T0,),
    )
    connection.commit()
    connection.close()
    call_command("import_legacy_db", str(path))
    out = capsys.readouterr().out
    assert "Jobs: 1 created, 0 updated, 0 unchanged, 3 skipped" in out
    assert "Build results: 0 created, 0 updated, 0 unchanged, 1 skipped" in out
    assert Job.objects.get(pk="no-name").repository_name == "square/okio"
