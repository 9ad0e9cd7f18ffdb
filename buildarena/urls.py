"""URL routes: the admin, the worker pool (workers.urls), the suites' results per version
(suites.urls), the pages and the API (jobs.urls, whose catch-all for unknown /api/ paths comes
last)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("workers.urls")),
    path("", include("suites.urls")),
    path("", include("jobs.urls")),
]
