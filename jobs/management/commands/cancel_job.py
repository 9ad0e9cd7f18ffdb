"""`manage.py cancel_job ID`: cancel a queued or running race."""

from django.core.management.base import BaseCommand, CommandError

from jobs.models import Job
from jobs.submissions.services import cancel_job


class Command(BaseCommand):
    help = (
        "Cancel a race. A queued one leaves the queue at once; a running one is stopped by its "
        "worker within seconds (both builds killed, partial output kept)."
    )

    def add_arguments(self, parser):
        parser.add_argument("job_ids", nargs="+", metavar="ID", help="Job id(s) to cancel.")

    def handle(self, *args, job_ids, **options):
        problems = []
        for job_id in job_ids:
            job = cancel_job(job_id)
            if job is not None:
                self.stdout.write(f"Cancelled job {job.pk} ({job.repository_name}).")
                continue
            status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
            if status is None:
                problems.append(f"No job with id {job_id!r}.")
            else:
                problems.append(f"Job {job_id} is already {status}; nothing to cancel.")
        if problems:
            raise CommandError(" ".join(problems))
