"""A database that is briefly unavailable gets a 503 the client can retry, not a 500.

A held write lock (SQLite's busy timeout ran out), a PostgreSQL lock timeout, a dropped
connection or a restarting server raise OperationalError/InterfaceError in whatever view was
running. The API answers JSON like its other errors; pages get a short HTML page. Both carry
Retry-After, and the error is logged. Other exceptions (bugs) are left alone.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger("buildarena.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is busy or unavailable; please try again in a few seconds."
# Deliberately self-contained: rendering the site's base template could need the database.
PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<title>Build Arena: try again shortly</title></head>"
    f"<body><h1>Try again shortly</h1><p>{MESSAGE}</p></body></html>"
)


def is_api(request):
    return request.path.startswith("/api/") or request.path == "/health"


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        if is_api(request):
            response = JsonResponse({"error": MESSAGE}, status=503)
        else:
            response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
