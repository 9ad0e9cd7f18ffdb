from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
    verbose_name = "Worker pool"

    def ready(self):
        """Tell the jobs app's pages why queued races wait (jobs never imports workers), and
        register the host checks (workers/checks.py)."""
        from jobs.live import pool
        from workers import checks  # noqa: F401 (registers the arena_host checks)
        from workers.noise_floor import host_noise_floor
        from workers.scheduler import pool_health

        pool.register_waiting_message(lambda: pool_health().waiting_message)
        # A finished race's page shows the noise floor of the host that measured it.
        pool.register_noise_floor(host_noise_floor)
