"""`manage.py workers`: the pool at a glance, and the maintenance switch."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from workers import scheduler
from workers.models import WorkerStatus


class Command(BaseCommand):
    help = "List the workers (id, host, status, load, heartbeat age, running jobs)."

    def add_arguments(self, parser):
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument(
            "--maintenance",
            metavar="ID",
            help="Put a worker in maintenance: it finishes its races and takes no new ones.",
        )
        switch.add_argument(
            "--activate", metavar="ID", help="Let a worker in maintenance take jobs again."
        )

    def handle(self, *args, maintenance, activate, **options):
        if maintenance or activate:
            worker_id = maintenance or activate
            status = WorkerStatus.MAINTENANCE if maintenance else WorkerStatus.ACTIVE
            try:
                worker = scheduler.set_worker_status(worker_id, status)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            if worker is None:
                raise CommandError(f"No worker with id {worker_id!r}.")
            self.stdout.write(f"Worker {worker.pk} is now {worker.status}.")
            return
        self.list_pool()

    def list_pool(self):
        now = timezone.now()
        workers = scheduler.describe_pool(now=now)
        if not workers:
            self.stdout.write("No workers have registered.")
        else:
            rows = [("ID", "HOST", "STATUS", "LOAD", "HEARTBEAT", "RUNNING JOBS")]
            for worker in workers:
                age = "never" if worker.heartbeat_age is None else f"{worker.heartbeat_age}s ago"
                if worker.is_command_line:  # a `manage.py race` command, not a pool worker
                    status = "command-line run" + (
                        " (racing)"
                        if worker.status != WorkerStatus.INACTIVE and not worker.presumed_dead
                        else " (ended)"
                    )
                else:
                    status = worker.status + (
                        " (no heartbeat: presumed dead)" if worker.presumed_dead else ""
                    )
                rows.append(
                    (
                        worker.pk,
                        worker.hostname,
                        status,
                        f"{worker.current_load}/{worker.capacity}",
                        age,
                        " ".join(worker.running_job_ids) or "-",
                    )
                )
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
            for row in rows:
                cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                self.stdout.write("  ".join([*cells, row[-1]]).rstrip())
        health = scheduler.pool_health(now=now)
        self.stdout.write(
            f"\n{health.accepting} worker(s) taking jobs, load {health.load}/{health.capacity}, "
            f"{health.queued} job(s) queued."
        )
        if health.queued and health.waiting_message:
            self.stdout.write(health.waiting_message)
