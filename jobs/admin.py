"""The admin stands in for the original's Drizzle Studio: jobs, results, workers, assignments.

The job list stays fast with 100,000 jobs: both sides' durations are correlated subqueries
in the list query (one index lookup per shown row, no per-row queries), no full result
count, and a paginator that stops counting exactly past a limit (jobs/admin_support.py).
The operator-only fields (custom build commands, iterations, mode...) are edited here only.
"""

from urllib.parse import quote

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from jobs.admin_forms import ExclusionReasonForm, JobAdminForm
from jobs.admin_support import (
    CappedCountPaginator,
    format_moment,
    format_ms,
    mark_demo,
    output_tail_html,
    side_duration_ms,
)
from jobs.models import (
    VERDICT_FIELDS,
    BuildResult,
    BuildType,
    Job,
    JobStatus,
    RaceExclusion,
)
from jobs.outcomes.labels import outcome_of, tags_of
from jobs.outcomes.numbers import interval_text, speedup_text
from jobs.submissions import services

admin.site.site_header = "Build Arena administration"
admin.site.site_title = "Build Arena admin"
admin.site.index_title = "Races, results and workers"


class ReadOnlyInlineMixin:
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BuildResultInline(ReadOnlyInlineMixin, admin.StackedInline):
    model = BuildResult
    fields = [
        ("build_type", "status", "bell_rung", "exit_code"),
        ("duration", "duration_ms", "run_times_ms"),
        ("tool", "tool_version", "jdk"),
        "phases",
        ("started_at", "finished_at"),
        ("error", "error_kind"),
        ("artifact_files", "artifact_bytes", "artifact_classes"),
        "output_display",
    ]
    readonly_fields = ["output_display"]

    @admin.display(description="Output")
    def output_display(self, obj):
        return output_tail_html(obj.full_output)


class RaceExclusionInline(ReadOnlyInlineMixin, admin.TabularInline):
    """Who took this race off the leaderboard (or put it back), when and why."""

    model = RaceExclusion
    fields = ["changed_at", "excluded", "reason", "changed_by"]
    readonly_fields = fields
    show_change_link = False
    verbose_name = "leaderboard exclusion change"


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobAdminForm
    list_display = [
        "short_id",
        "repository_name",
        "ref_display",
        "status",
        "created",
        "elide_time",
        "standard_time",
        "outcome_display",
        "speedup_display",
        "verdict",
        "worker_link",
        "failure_reason",
        "is_mock",
    ]
    list_display_links = ["short_id", "repository_name"]
    list_filter = [
        "status",
        ("created_at", admin.DateFieldListFilter),
        "verdict",
        "winner",
        "scenario",
        "cache",
        "is_mock",
        ("excluded_reason", admin.EmptyFieldListFilter),
        "worker_id",
    ]
    search_fields = ["repository_name", "repository_url", "=id"]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    inlines = [BuildResultInline, RaceExclusionInline]
    actions = ["cancel_selected", "exclude_from_leaderboard", "mark_as_demo", "unmark_demo"]
    fieldsets = [
        (None, {"fields": ["repository_url", "repository_name", "ref", "status", "error"]}),
        (
            "Outcome",
            {
                "fields": [
                    ("outcome_display", "verdict", "winner"),
                    ("speedup_display", "interval_display"),
                    "void_reason",
                    "parity",
                    "commit_sha",
                    ("created_at", "started_at", "completed_at"),
                    ("worker_id", "attempts"),
                    "is_mock",
                ]
            },
        ),
        (
            "Leaderboard",
            {
                "description": "A reason here keeps this race off the leaderboard and its "
                "headline (empty it to restore the race). Every change is kept below with "
                "who made it.",
                "fields": ["excluded_reason"],
            },
        ),
        (
            "Operator options",
            {
                "description": "Only operators can set these; the public form never does. "
                "A custom command is a JSON list of arguments run without a shell, "
                'e.g. ["sh", "-c", "mvn -B package"].',
                "fields": [
                    ("mode", "iterations", "warmups", "timeout_seconds"),
                    ("cache", "scenario"),
                    "standard_cmd",
                    "elide_cmd",
                ],
            },
        ),
    ]
    _always_read_only = [
        "outcome_display",
        "speedup_display",
        "interval_display",
        "repository_name",
        "status",
        "error",
        *VERDICT_FIELDS,
        "commit_sha",
        "created_at",
        "started_at",
        "completed_at",
        "worker_id",
        "attempts",
        "is_mock",
    ]

    # What a race was measured with: fixed once it has started, so that its results always
    # describe the options shown beside them.
    _measured_with = [
        "mode", "cache", "scenario", "iterations", "warmups", "timeout_seconds",
        "standard_cmd", "elide_cmd",
    ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self._always_read_only
        # A race's repository is fixed once it exists: its results belong to that URL.
        fixed = [*self._always_read_only, "repository_url", "ref"]
        if obj.status != JobStatus.QUEUED:
            fixed += self._measured_with
        return fixed

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                elide_ms=side_duration_ms(BuildType.ELIDE),
                standard_ms=side_duration_ms(BuildType.STANDARD),
            )
        )

    def save_model(self, request, obj, form, change):
        """Record every change of the exclusion reason (kept, shown, auditable)."""
        before = ""
        if change and obj.pk:
            before = Job.objects.filter(pk=obj.pk).values_list("excluded_reason", flat=True)
            before = before.first() or ""
        super().save_model(request, obj, form, change)
        if obj.excluded_reason != before:
            RaceExclusion.objects.create(
                job=obj,
                excluded=bool(obj.excluded_reason),
                reason=obj.excluded_reason or f"restored (was: {before})",
                changed_by=request.user.get_username(),
            )

    @admin.display(description="ID", ordering="id")
    def short_id(self, obj):
        return obj.pk if len(obj.pk) <= 12 else f"{obj.pk[:8]}…"

    class Media:
        css = {"all": ["css/admin.css"]}

    @admin.display(description="Ref", ordering="ref")
    def ref_display(self, obj):
        return obj.ref or "-"

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return format_moment(obj.created_at)

    @admin.display(description="Speedup", ordering="speedup")
    def speedup_display(self, obj):
        return speedup_text(obj.speedup) if obj.speedup is not None else "-"

    @admin.display(description="Interval")
    def interval_display(self, obj):
        if obj.speedup_ci_low is None or obj.speedup_ci_high is None:
            return "-"
        level = f"{(obj.speedup_ci_level or 0.95) * 100:.0f}%"
        return f"{level} CI {interval_text(obj.speedup_ci_low, obj.speedup_ci_high)}"

    @admin.display(description="Worker", ordering="worker_id")
    def worker_link(self, obj):
        if not obj.worker_id:
            return "-"
        url = reverse("admin:jobs_job_changelist") + f"?worker_id={quote(obj.worker_id)}"
        return format_html('<a href="{}">{}</a>', url, obj.worker_id)

    @admin.display(description="Failure reason")
    def failure_reason(self, obj):
        if not obj.error:
            return "-"
        return obj.error if len(obj.error) <= 80 else obj.error[:79] + "\u2026"

    @admin.display(description="Elide", ordering="elide_ms")
    def elide_time(self, obj):
        return format_ms(obj.elide_ms)

    @admin.display(description="Standard", ordering="standard_ms")
    def standard_time(self, obj):
        return format_ms(obj.standard_ms)

    @admin.display(description="Outcome", ordering="verdict")
    def outcome_display(self, obj):
        """The outcome's one name (jobs/outcomes/labels.py) and why it does not count."""
        names = [outcome_of(obj).label(), *(tag.label() for tag in tags_of(obj))]
        return " \u00b7 ".join(names)

    @admin.action(
        description="Cancel selected jobs (running builds are stopped)", permissions=["change"]
    )
    def cancel_selected(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        cancelled = sum(1 for job_id in ids if services.cancel_job(job_id) is not None)
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)
        if cancelled < len(ids):
            self.message_user(
                request,
                f"{len(ids) - cancelled} job(s) were already finished and left as they were.",
                messages.WARNING,
            )

    @admin.action(
        description="Exclude selected races from the leaderboard (with a reason)",
        permissions=["change"],
    )
    def exclude_from_leaderboard(self, request, queryset):
        """Asks for the reason first (an intermediate page), then records it per race."""
        form = ExclusionReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            changed = RaceExclusion.objects.exclude_races(
                queryset, form.cleaned_data["reason"], request.user.get_username()
            )
            self.message_user(
                request, f"Excluded {changed} race(s) from the leaderboard.", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Exclude races from the leaderboard",
            "opts": self.model._meta,
            "form": form,
            "races": queryset.only("id", "repository_name", "ref", "verdict")[:100],
            "count": queryset.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/jobs/job/exclude_from_leaderboard.html", context)

    @admin.action(description="Mark selected jobs as demo data", permissions=["change"])
    def mark_as_demo(self, request, queryset):
        updated = mark_demo(queryset, True)
        self.message_user(request, f"Marked {updated} job(s) as demo data.", messages.SUCCESS)

    @admin.action(description="Mark selected jobs as real races (not demo)", permissions=["change"])
    def unmark_demo(self, request, queryset):
        updated = mark_demo(queryset, False)
        self.message_user(request, f"Marked {updated} job(s) as real races.", messages.SUCCESS)


@admin.register(BuildResult)
class BuildResultAdmin(admin.ModelAdmin):
    """Browsable, read-only: results are written by workers only."""

    list_display = [
        "id",
        "job_link",
        "build_type",
        "status",
        "duration",
        "duration_ms",
        "bell_rung",
        "exit_code",
        "tool",
        "created_at",
    ]
    list_filter = ["build_type", "status", "bell_rung", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=job__id", "job__repository_name"]
    list_select_related = ["job"]
    ordering = ["-id"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    exclude = ["output", "output_timing"]
    readonly_fields = ["output_display"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "jobs_buildresult_changelist":
            # A side's output can be megabytes: the list never loads it.
            queryset = queryset.defer(
                "output",
                "output_timing",
                "output_compressed",
                "output_timing_compressed",
                "run_times_ms",
            )
        return queryset

    @admin.display(description="Job", ordering="job_id")
    def job_link(self, obj):
        url = reverse("admin:jobs_job_change", args=[obj.job_id])
        return format_html('<a href="{}">{}</a>', url, obj.job.repository_name)

    @admin.display(description="Output")
    def output_display(self, obj):
        return output_tail_html(obj.full_output)
