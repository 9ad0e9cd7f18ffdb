"""URL routes: the admin, the worker pool (workers.urls), the pages and the API (jobs.urls)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("workers.urls")),
    path("", include("jobs.urls")),
]
