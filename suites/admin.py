"""The suites in the admin: edit a suite and its repositories, run it now, follow its runs."""

from django.contrib import admin, messages

from suites import triggers
from suites.models import Suite, SuiteRace, SuiteRepository, SuiteRun, VersionChange


class SuiteRepositoryInline(admin.TabularInline):
    model = SuiteRepository
    extra = 1
    fields = ["url", "ref", "position"]


@admin.register(Suite)
class SuiteAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "runs", "warmups", "cache", "scenario", "enabled"]
    list_filter = ["enabled", "cache", "scenario"]
    inlines = [SuiteRepositoryInline]
    actions = ["run_now"]
    readonly_fields = ["created_at"]

    @admin.action(description="Race the selected suites now")
    def run_now(self, request, queryset):
        for suite in queryset:
            run = triggers.run_now(suite)
            self.message_user(
                request,
                f"Queued run #{run.pk} of {suite.name}: {run.races.count()} races.",
                messages.SUCCESS,
            )


class SuiteRaceInline(admin.TabularInline):
    model = SuiteRace
    extra = 0
    fields = ["repository", "attempt", "job"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SuiteRun)
class SuiteRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "suite",
        "trigger",
        "versions_key",
        "status",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "trigger", "suite"]
    readonly_fields = [
        "suite", "versions", "versions_key", "trigger", "status", "created_at", "completed_at",
    ]  # fmt: skip
    inlines = [SuiteRaceInline]

    def has_add_permission(self, request):
        return False


@admin.register(VersionChange)
class VersionChangeAdmin(admin.ModelAdmin):
    list_display = [
        "repository_name", "suite", "kind", "from_version", "to_version", "change", "found_at",
        "announced_at",
    ]  # fmt: skip
    list_filter = ["kind", "suite"]
    readonly_fields = [field.name for field in VersionChange._meta.fields]

    def has_add_permission(self, request):
        return False
