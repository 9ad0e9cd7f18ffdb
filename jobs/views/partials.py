"""Full page or partial: htmx requests get only the part they swap."""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page_or_partial(request, page_template, partial_template, context):
    """The partial for htmx requests, the whole page otherwise (and for htmx's history
    restore, which needs a whole page). Responses vary on HX-Request, so no cache mixes them.
    """
    wants_partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, partial_template if wants_partial else page_template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
