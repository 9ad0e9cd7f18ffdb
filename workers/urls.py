"""Routes of the worker pool: its page and /api/status (included before jobs.urls, whose
catch-all answers every other /api/ path)."""

from django.urls import path

from workers import api, views

urlpatterns = [
    path("workers/", views.worker_list, name="worker_list"),
    path("api/status", api.service_status, name="api_status"),
]
