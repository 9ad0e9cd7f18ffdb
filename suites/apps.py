from django.apps import AppConfig


class SuitesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "suites"
    verbose_name = "Benchmark suites"

    def ready(self):
        """Race the suites when a worker reports toolchain versions no suite run has used, and
        move running suite runs on at each worker's housekeeping; offer the leaderboard the
        newest version's headline (ARENA_HEADLINE_SOURCE=suite)."""
        from django.conf import settings

        from jobs.leaderboard.headline import register_suite_headline
        from suites import triggers
        from suites.results import latest_version_headline
        from workers.signals import pool_maintained, toolchains_recorded

        toolchains_recorded.connect(
            triggers.on_toolchains_recorded, dispatch_uid="suites-new-versions"
        )
        pool_maintained.connect(triggers.on_pool_maintained, dispatch_uid="suites-progress")
        register_suite_headline(
            lambda: latest_version_headline(settings.ARENA_HEADLINE_MIN_REPOSITORIES)
        )
