"""Routes of the per-version results, the regressions and their feed."""

from django.urls import path

from suites import feeds, views

urlpatterns = [
    path("versions/", views.versions_page, name="versions"),
    path("api/versions", views.versions_api, name="api_versions"),
    path("regressions/", views.regressions_page, name="regressions"),
    path("api/regressions", views.regressions_api, name="api_regressions"),
    path("feeds/regressions.atom", feeds.RegressionsFeed(), name="regressions_feed"),
    path("suites/runs/<int:run_id>/", views.suite_run_page, name="suite_run"),
]
