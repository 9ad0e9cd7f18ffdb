from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate

from jobs.storage import cascades


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Races"

    def ready(self):
        # The seed's ON DELETE CASCADE as database triggers (see jobs/storage/cascades.py).
        # Deleted races leave the leaderboard's summary rows through Job's own write path
        # (jobs/models/job_writes.py), not through signals.
        pre_migrate.connect(cascades.before_migrate, sender=self, dispatch_uid="jobs-cascades")
        post_migrate.connect(cascades.after_migrate, sender=self, dispatch_uid="jobs-cascades")
