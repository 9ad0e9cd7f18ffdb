"""Database errors that are not bugs get a proper answer instead of a 500.

A database that is briefly unavailable: a held write lock (SQLite's busy timeout ran out), a
PostgreSQL lock timeout, a dropped connection or a restarting server raise OperationalError or
InterfaceError in whatever view was running. The answer is 503 with Retry-After.

A value the database refuses (DataError: PostgreSQL rejects a NUL character in text, e.g. a
job id taken from the URL): the answer is 400.

The API answers JSON like its other errors; pages get the site's styled error page (which
touches no database); the error is logged.
Other exceptions (bugs) are left alone.
"""

import logging

from django.db import DataError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("buildarena.database")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is busy or unavailable; please try again in a few seconds."
BAD_DATA_MESSAGE = "The request contains characters or values that cannot be stored."


def page(title, message):
    # Deliberately self-contained: rendering the site's base template could need the database.
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Build Arena: {title}</title></head>"
        f"<body><h1>{title}</h1><p>{message}</p></body></html>"
    )


def is_api(request):
    return request.path.startswith("/api/") or request.path == "/health"


class DatabaseErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataError):
            logger.warning("refused data in %s %r: %s", request.method, request.path, exception)
            return self.answer(request, 400, "Bad request", BAD_DATA_MESSAGE)
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable during %s %s: %s", request.method, request.path, exception
        )
        response = self.answer(request, 503, "Try again shortly", MESSAGE)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @staticmethod
    def answer(request, status, title, message):
        if is_api(request):
            return JsonResponse({"error": message}, status=status)
        try:
            # The styled error page needs no database (templates/errors/page.html).
            html = render_to_string(f"{status}.html", {"message": message})
        except Exception:  # a broken template must not hide the original answer
            logger.exception("error page %s could not be rendered", status)
            html = page(title, message)
        return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
