"""Routes of the pages and of the JSON API."""

from django.urls import path, re_path

from jobs import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("validate/repository", views.repository_url_feedback, name="validate_repository"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<str:job_id>/", views.race_detail, name="race_detail"),
    path("jobs/<str:job_id>/poll", views.race_poll, name="race_poll"),
    path("jobs/<str:job_id>/cancel", views.race_cancel, name="race_cancel"),
    path("jobs/<str:job_id>/replay.json", views.race_replay, name="race_replay"),
    path(
        "jobs/<str:job_id>/output/<str:build_type>.txt",
        views.race_output_text,
        name="race_output_text",
    ),
    path("jobs/<str:job_id>/card.png", views.race_card, name="race_card"),
    path("repos/<str:owner>/<str:name>/", views.repository_page, name="repository_page"),
    path("repos/<str:owner>/<str:name>/badge.svg", views.repository_badge, name="repository_badge"),
    path("kiosk/", views.kiosk, name="kiosk"),
    path("kiosk/slide", views.kiosk_slide, name="kiosk_slide"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard.csv", views.leaderboard_csv, name="leaderboard_csv"),
    path("leaderboard.json", views.leaderboard_json, name="leaderboard_json"),
    # JSON API
    path("health", api.health, name="api_health"),
    path("api/jobs", api.jobs_collection, name="api_jobs"),
    path("api/jobs/recent/results", api.recent_results, name="api_recent_results"),
    path("api/jobs/<str:job_id>", api.job_detail, name="api_job"),
    path("api/jobs/<str:job_id>/cancel", api.job_cancel, name="api_job_cancel"),
    path("api/jobs/<str:job_id>/output", api.job_output, name="api_job_output"),
    path("api/dev/seed-mock-data", api.seed_mock_data, name="api_seed_mock_data"),
    re_path(r"^api/(?P<rest>.*)$", api.not_found),
]
