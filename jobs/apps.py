from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Races"

    def ready(self):
        from jobs import cascades

        # The seed's ON DELETE CASCADE as database triggers (see jobs/cascades.py).
        pre_migrate.connect(cascades.before_migrate, sender=self, dispatch_uid="jobs-cascades")
        post_migrate.connect(cascades.after_migrate, sender=self, dispatch_uid="jobs-cascades")
