from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, pre_delete, pre_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Races"

    def ready(self):
        from jobs.leaderboard import summary
        from jobs.models import Job
        from jobs.storage import cascades

        # The seed's ON DELETE CASCADE as database triggers (see jobs/storage/cascades.py).
        pre_migrate.connect(cascades.before_migrate, sender=self, dispatch_uid="jobs-cascades")
        post_migrate.connect(cascades.after_migrate, sender=self, dispatch_uid="jobs-cascades")
        # Deleted races leave the leaderboard's summary rows in the delete's transaction.
        pre_delete.connect(summary.race_leaving, sender=Job, dispatch_uid="jobs-summary")
        post_delete.connect(summary.race_left, sender=Job, dispatch_uid="jobs-summary")
