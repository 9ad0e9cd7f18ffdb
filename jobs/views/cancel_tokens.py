"""Cancel tokens kept in the submitter's session, so the form's submitter may cancel.

The API hands the token to its client; a browser keeps it in its session instead (the job row
holds only the token's hash). The newest SESSION_TOKENS tokens are kept.
"""

from jobs.submissions.services import may_cancel

SESSION_KEY = "cancel_tokens"
SESSION_TOKENS = 50


def remember(request, job_id, token):
    tokens = dict(request.session.get(SESSION_KEY, {}))
    tokens.pop(job_id, None)
    tokens[job_id] = token
    request.session[SESSION_KEY] = dict(list(tokens.items())[-SESSION_TOKENS:])


def session_token(request, job_id):
    tokens = request.session.get(SESSION_KEY, {})
    return tokens.get(job_id) if isinstance(tokens, dict) else None


def viewer_may_cancel(request, job, token=None):
    """Staff, or whoever holds the race's cancel token (sent, or in their session)."""
    return may_cancel(
        job,
        token or session_token(request, job.pk),
        staff=bool(getattr(request, "user", None) and request.user.is_staff),
    )
