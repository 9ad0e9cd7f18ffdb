"""The worker pool page: every worker with its load and heartbeat, and the pool's health.

Rows of `manage.py race` commands are listed after the pool as command-line runs: they take
no queued job, and a finished one has no heartbeat without being a dead worker."""

from django.conf import settings
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs.views.partials import render_page_or_partial
from workers import noise_floor
from workers.models import Worker
from workers.scheduler import pool_health


@require_GET
def worker_list(request):
    now = timezone.now()
    alive_ids = set(Worker.objects.alive(now).values_list("id", flat=True))
    workers = list(Worker.objects.order_by("id"))
    for worker in workers:
        worker.is_alive = worker.pk in alive_ids
        worker.noise_floor_summary = noise_floor.summary(worker.noise_floor, worker.calibrated_at)
    pool = [worker for worker in workers if not worker.is_command_line]
    command_line = [worker for worker in workers if worker.is_command_line]
    context = {
        "workers": pool + command_line,
        "pool_size": len(pool),
        "alive_count": sum(1 for worker in pool if worker.is_alive),
        "pool": pool_health(now=now),
        "dead_after": settings.ARENA_WORKER_DEAD_AFTER,
    }
    return render_page_or_partial(request, "workers.html", "partials/worker_table.html", context)
