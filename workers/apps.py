from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self):
        """Tell the jobs app's pages why queued races wait (jobs never imports workers)."""
        from jobs.live import pool
        from workers.scheduler import pool_health

        pool.register_waiting_message(lambda: pool_health().waiting_message)
