"""Many hosts for real: three workers in three network namespaces, PostgreSQL only over veth.

    sudo .venv/bin/python scripts/netns_drill.py [--jobs 12] [--capacity 2] [--keep-logs DIR]

Each "build host" is a network namespace of its own (h1..h3, `unshare --net`) joined to this
machine by a veth pair (10.231.R.4N+1 here, .4N+2 in the namespace, R from the drill's
pid so that two drills never collide); nothing else is
reachable from it. The drill starts a private PostgreSQL cluster (initdb in a temporary
directory, run as the `postgres` user) listening on 127.0.0.1 and on the three host-side
veth addresses, with pg_hba trusting 10.231.R.0/24 only; it never touches the machine's own
PostgreSQL, and it removes the cluster, the namespaces and the veth pairs when it ends.

One `manage.py run_worker` per namespace (its own workspace root and so its own measurement lock
file, as on separate machines) races --jobs jobs whose two sides print the wall clock when
each measured run starts and ends. The drill then cuts one host's link (`ip link set down`
inside its namespace) while that host builds a race, and checks:
- claims: every host took races, no job ever had two open assignments, every job completed;
- heartbeats: each host's worker row was kept fresh over its link;
- reaping: the cut host was marked inactive by the others, its open assignments closed as
  lost and its races requeued and completed on another host;
- measurement locks are per host: measured runs on one host never overlap, while runs on
  different hosts do (hosts measure in parallel);
- the chaos drill's end-state invariants (loads equal open assignments, no job left running).
Exit status 0 when every check holds; the report is printed either way.
"""

import argparse
import contextlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from scripts.netns_hosts import HOSTS, Cluster, Hosts, addresses  # noqa: E402

# Each measured run prints its start and end in nanoseconds of the shared clock.
RECIPE = [
    "sh",
    "-c",
    'echo "run-start $(date +%s%N)"; sleep 0.6; echo "run-end $(date +%s%N)"; echo BUILD SUCCESS',
]
WORKER_SETTINGS = {
    "DEBUG": "1",
    "ARENA_HEARTBEAT_INTERVAL": "0.5",
    "ARENA_WORKER_POLL_INTERVAL": "0.5",
    "ARENA_WORKER_DEAD_AFTER": "3",
    "ARENA_WORKER_GRACE_PERIOD": "5",
    "ARENA_JOB_MAX_ATTEMPTS": "4",
    "ARENA_ALLOW_LOCAL_REPOS": "1",
    "ARENA_BUILD_NETWORK": "off",
    "PYTHONUNBUFFERED": "1",
}


class HostWorker:
    def __init__(self, index, host, cluster, workdir, capacity, hosts):
        self.host, self.worker_id = host, f"worker-{host}"
        self.prefix = hosts.inside(host)
        home = workdir / host
        home.mkdir()
        self.log = home / "worker.log"
        self.env = {
            **os.environ,
            **WORKER_SETTINGS,
            "DATABASE_URL": cluster.url(addresses(index)[0]),
            "ARENA_WORKSPACE_ROOT": str(home / "workspaces"),
        }
        self.capacity = capacity
        self.process = None

    def start(self):
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable,
                 str(PROJECT_DIR / "manage.py"), "run_worker", "--worker-id", self.worker_id,
                 "--hostname", self.host, "--capacity", str(self.capacity)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR,
                start_new_session=True,
            )  # fmt: skip

    def stop(self, timeout=15):
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        self.process.wait()


def setup_django(cluster):
    os.environ.update(DJANGO_SETTINGS_MODULE="buildarena.settings", DEBUG="1")
    os.environ["DATABASE_URL"] = cluster.url()
    os.environ["ARENA_ALLOW_LOCAL_REPOS"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measured_runs(job_ids):
    """{host: [(start ns, end ns), ...]} of every measured run, by the host that ran it."""
    from jobs.models import BuildResult, Job

    host_of = {
        job_id: (worker_id or "").removeprefix("worker-")
        for job_id, worker_id in Job.objects.filter(pk__in=job_ids).values_list("pk", "worker_id")
    }
    runs = {}
    for result in BuildResult.objects.filter(job_id__in=job_ids, status="success"):
        text = result.full_output
        starts = [int(n) for n in re.findall(r"run-start (\d+)", text)]
        ends = [int(n) for n in re.findall(r"run-end (\d+)", text)]
        host = host_of.get(result.job_id)
        runs.setdefault(host, []).extend(zip(starts, ends, strict=False))
    return runs


def overlaps(intervals):
    ordered = sorted(intervals)
    return sum(1 for a, b in itertools.pairwise(ordered) if b[0] < a[1])


def check(args, job_ids, cut_host, cut_jobs, heartbeats):
    from jobs.models import Job
    from scripts.chaos_drill import check_end_state
    from workers.models import Worker, WorkerAssignment

    problems = check_end_state(job_ids)
    statuses = set(Job.objects.filter(pk__in=job_ids).values_list("status", flat=True))
    if statuses != {"completed"}:
        problems.append(f"job statuses at the end: {sorted(statuses)}")
    completed_by = {
        a.worker_id
        for a in WorkerAssignment.objects.filter(job_id__in=job_ids, outcome="completed")
    }
    if len(completed_by) < 2:
        problems.append(f"races completed on {sorted(completed_by)} only")
    claimed_by = set(
        WorkerAssignment.objects.filter(job_id__in=job_ids).values_list("worker_id", flat=True)
    )
    if claimed_by != {f"worker-{h}" for h in HOSTS}:
        problems.append(f"hosts that claimed races: {sorted(claimed_by)}")
    for host, beats in heartbeats.items():
        if beats < 3:
            problems.append(f"{host}: only {beats} distinct heartbeats seen over its link")
    cut = Worker.objects.get(pk=f"worker-{cut_host}")
    if cut.status != "inactive":
        problems.append(f"the cut host's worker is {cut.status}, not reaped")
    lost = WorkerAssignment.objects.filter(worker_id=cut.pk, outcome="lost")
    if not lost.exists():
        problems.append("no assignment of the cut host was closed as lost")
    for job_id in cut_jobs:
        final = WorkerAssignment.objects.filter(job_id=job_id, outcome="completed").first()
        if final is None or final.worker_id == cut.pk:
            problems.append(f"race {job_id} of the cut host was not completed elsewhere")
    runs = measured_runs(job_ids)
    for host, intervals in runs.items():
        if overlaps(intervals):
            problems.append(f"{host}: {overlaps(intervals)} measured runs overlapped on one host")
    everything = [interval for intervals in runs.values() for interval in intervals]
    across = overlaps(everything)
    if across == 0:
        problems.append("no two hosts ever measured at the same time (a global lock?)")
    return problems, runs, across


def drive(args, hosts, cluster, workdir):
    from django.conf import settings
    from django.db import connection

    from jobs.models import BuildResult, Job
    from jobs.submissions.services import create_job
    from tests.repos import make_git_repo
    from workers.models import Worker, WorkerAssignment

    settings.ARENA_MAX_QUEUED_JOBS = 0
    repo = make_git_repo(workdir / "repo", {"README.md": "netns drill\n"})
    workers = [
        HostWorker(i, h, cluster, workdir, args.capacity, hosts) for i, h in enumerate(HOSTS)
    ]
    for worker in workers:
        worker.start()
    heartbeats = {host: set() for host in HOSTS}

    def watch():
        for worker_id, beat in Worker.objects.values_list("pk", "last_heartbeat"):
            heartbeats.setdefault(worker_id.removeprefix("worker-"), set()).add(beat)

    deadline = time.monotonic() + 60
    while Worker.objects.filter(status="active").count() < len(HOSTS):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not register over their links")
        time.sleep(0.2)
    # Heartbeats are stored in whole seconds: watch each link carry a few before any race, so
    # that a host cut early in the races has still shown that its heartbeats crossed its link.
    while min(len(heartbeats[host]) for host in HOSTS) < 3:
        if time.monotonic() > deadline:
            raise SystemExit("the workers' heartbeats did not come over their links")
        watch()
        time.sleep(0.2)
    job_ids = [
        create_job(str(repo), standard_cmd=RECIPE, elide_cmd=RECIPE).pk for _ in range(args.jobs)
    ]
    cut_host, cut_jobs = HOSTS[-1], []
    started = time.monotonic()
    while time.monotonic() - started < args.timeout:
        watch()
        open_here = list(
            WorkerAssignment.objects.filter(
                worker_id=f"worker-{cut_host}", completed_at__isnull=True
            ).values_list("job_id", flat=True)
        )
        done = Job.objects.filter(pk__in=job_ids, status="completed").count()
        # Cut while a race of that host is building (a side still pending), not finishing.
        building = sorted(
            set(
                BuildResult.objects.filter(job_id__in=open_here, status="pending").values_list(
                    "job_id", flat=True
                )
            )
        )
        if not cut_jobs and building and done >= 2:
            cut_jobs = building
            hosts.cut(cut_host)
            print(f"link of {cut_host} cut while it ran {len(cut_jobs)} race(s)", flush=True)
        unfinished = Job.objects.filter(pk__in=job_ids, status__in=["queued", "running"])
        open_elsewhere = WorkerAssignment.objects.filter(
            job_id__in=job_ids, completed_at__isnull=True
        )
        if cut_jobs and not unfinished.exists() and not open_elsewhere.exists():
            break
        time.sleep(0.3)
    elapsed = time.monotonic() - started
    workers[-1].kill()  # stuck on a dead link: what a lost machine looks like
    for worker in workers[:-1]:
        worker.stop()
    connection.close()
    beats = {host: len(values) for host, values in heartbeats.items() if host in HOSTS}
    problems, runs, across = check(args, job_ids, cut_host, cut_jobs, beats)
    return problems, {
        "jobs": len(job_ids),
        "seconds": round(elapsed, 1),
        "cut_host": cut_host,
        "cut_races": len(cut_jobs),
        "heartbeats_seen": beats,
        "measured_runs_per_host": {host: len(v) for host, v in runs.items()},
        "overlapping_runs_across_hosts": across,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--capacity", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--keep-logs", default="", help="Copy the workers' logs here.")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "unshare", "nsenter")):
        raise SystemExit("the drill needs root, iproute2 and util-linux (unshare, nsenter)")
    workdir = Path(tempfile.mkdtemp(prefix="arena-netns-"))
    os.chmod(workdir, 0o755)  # noqa: S103 (the cluster runs as `postgres` and must enter it)
    hosts, cluster = Hosts(), Cluster(workdir / "postgres")
    try:
        hosts.create()
        cluster.start()
        setup_django(cluster)
        problems, report = drive(args, hosts, cluster, workdir)
    finally:
        if args.keep_logs:
            target = Path(args.keep_logs)
            target.mkdir(parents=True, exist_ok=True)
            for log in workdir.glob("h*/worker.log"):
                shutil.copy(log, target / f"{log.parent.name}.log")
        cluster.stop()
        hosts.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    for key, value in report.items():
        print(f"{key}: {value}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("all checks hold" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
