"""The Content-Security-Policy header, on every response that has a document to govern.

django-csp's middleware builds both policy strings (enforced and report-only) for every
response before it looks at anything else. A 204 No Content or 304 Not Modified has no body a
policy could apply to, and the live poll answers 204 once a second per open race page: for
that answer the two strings were a quarter of its CPU. Every other response gets the header as
before.
"""

from http import HTTPStatus

from csp.middleware import CSPMiddleware

BODILESS_STATUSES = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(self, request, response):
        if response.status_code in BODILESS_STATUSES:
            return response
        return super().process_response(request, response)
