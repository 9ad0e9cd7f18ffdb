"""Workers and their assignments in the admin.

Workers register themselves (no "add" here); an operator changes capacity, or puts a worker in
maintenance (it finishes its races and takes no new ones) and back. Assignments are browsable
and read-only: the scheduler writes them. A job's page adds what the pool knows of it: its
assignments and the requeue action (PoolJobAdmin extends jobs.admin.JobAdmin).
"""

from urllib.parse import quote

from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from jobs.admin import JobAdmin, ReadOnlyInlineMixin
from jobs.admin_support import CappedCountPaginator, format_moment
from jobs.models import Job
from workers import scheduler
from workers.models import Worker, WorkerAssignment, WorkerStatus


class OpenAssignmentInline(admin.TabularInline):
    """The races a worker runs now (its closed history is in the assignments list)."""

    model = WorkerAssignment
    verbose_name_plural = "open assignments"
    fields = ["job", "assigned_at", "outcome"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).filter(completed_at__isnull=True).select_related("job")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def heartbeat_age_seconds(worker, now=None):
    if worker.last_heartbeat is None:
        return None
    return max(int(((now or timezone.now()) - worker.last_heartbeat).total_seconds()), 0)


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "hostname",
        "pid",
        "status",
        "load",
        "heartbeat_age",
        "heartbeat",
        "races",
        "runs_elide",
        "toolchain_summary",
    ]
    list_filter = ["status", "runs_elide"]
    search_fields = ["id", "hostname"]
    ordering = ["id"]
    actions = ["put_in_maintenance", "activate"]
    inlines = [OpenAssignmentInline]
    fields = [
        "id",
        "hostname",
        "pid",
        "status",
        "capacity",
        "current_load",
        "last_heartbeat",
        "created_at",
        "updated_at",
        "runs_elide",
        "toolchain_summary",
        "toolchains_probed_at",
    ]
    # Only the status and the capacity are the admin's to set; the rest the worker reports.
    readonly_fields = [name for name in fields if name not in ("status", "capacity")]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description="Last heartbeat", ordering="last_heartbeat")
    def heartbeat(self, obj):
        return format_moment(obj.last_heartbeat)

    @admin.display(description="Races")
    def races(self, obj):
        url = reverse("admin:jobs_job_changelist") + f"?worker_id={quote(obj.pk)}"
        return format_html('<a href="{}">Races on {}</a>', url, obj.pk)

    @admin.display(description="Load", ordering="current_load")
    def load(self, obj):
        return f"{obj.current_load} / {obj.capacity}"

    @admin.display(description="Heartbeat age", ordering="-last_heartbeat")
    def heartbeat_age(self, obj):
        age = heartbeat_age_seconds(obj)
        if age is None:
            return "never"
        if age > settings.ARENA_WORKER_DEAD_AFTER:
            return format_html(
                '<strong class="presumed-dead">{} s ago (presumed dead)</strong>', age
            )
        return f"{age} s ago"

    def _set_status(self, request, queryset, status):
        updated = queryset.exclude(status=status).update(status=status, updated_at=timezone.now())
        self.message_user(request, f"{updated} worker(s) set to {status}.", messages.SUCCESS)

    @admin.action(
        description="Put selected workers in maintenance (no new races)", permissions=["change"]
    )
    def put_in_maintenance(self, request, queryset):
        self._set_status(request, queryset, WorkerStatus.MAINTENANCE)

    @admin.action(description="Activate selected workers", permissions=["change"])
    def activate(self, request, queryset):
        self._set_status(request, queryset, WorkerStatus.ACTIVE)


@admin.register(WorkerAssignment)
class WorkerAssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "job_link", "worker", "assigned_at", "completed_at", "outcome"]
    list_filter = [
        ("completed_at", admin.EmptyFieldListFilter),
        ("assigned_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=job__id", "job__repository_name", "=worker__id"]
    list_select_related = ["job", "worker"]
    ordering = ["-assigned_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Job", ordering="job_id")
    def job_link(self, obj):
        url = reverse("admin:jobs_job_change", args=[obj.job_id])
        return format_html('<a href="{}">{}</a>', url, obj.job.repository_name)


class WorkerAssignmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = WorkerAssignment
    fields = ["worker", "assigned_at", "completed_at", "outcome"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("worker")


class PoolJobAdmin(JobAdmin):
    """The job admin with what the pool adds: the job's assignments and the requeue action."""

    inlines = [*JobAdmin.inlines, WorkerAssignmentInline]
    actions = [*JobAdmin.actions, "requeue_selected"]

    @admin.action(
        description="Requeue selected jobs (finished or stuck; old results are deleted)",
        permissions=["change"],
    )
    def requeue_selected(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        requeued, refusals = 0, []
        for job_id in ids:
            try:
                if scheduler.requeue_job(job_id) is not None:
                    requeued += 1
            except scheduler.RequeueRefused as refused:
                refusals.append(str(refused))
        self.message_user(request, f"Requeued {requeued} job(s).", messages.SUCCESS)
        for reason in refusals[:20]:
            self.message_user(request, reason, messages.WARNING)


admin.site.unregister(Job)
admin.site.register(Job, PoolJobAdmin)
