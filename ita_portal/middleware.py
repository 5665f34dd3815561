import contextvars
import logging
import re
import uuid

from django.http import HttpRequest


class ThaiFirstMiddleware:
    """Serve Thai unless the user picked English (the language cookie set by /i18n/setlang/).

    Office PCs often run an English browser, and LocaleMiddleware would follow its
    Accept-Language header; the portal is Thai first, so that header is ignored."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


# The request being served by this thread (or task), for log records written outside a view.
_current_request = contextvars.ContextVar("current_request", default=None)

# An incoming X-Request-ID (nginx's $request_id, a load balancer's id) is kept only if it is
# short and plain: it is written into every log line, so no spaces, quotes or line breaks.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class RequestIdMiddleware:
    """Give every request an id: the proxy's X-Request-ID when it is sane, else a new uuid4.

    The id is request.request_id, the X-Request-ID header of the response, and, through
    RequestContextFilter, the request_id of every log line written while the request runs,
    so the line in the journal can be found from what the user or nginx saw. First in
    MIDDLEWARE, so redirects and errors from the other middleware carry it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


def _user_id(request):
    # Read when the record is written: by then AuthenticationMiddleware has usually resolved
    # the user. Logging must never raise, even when the session store is what failed.
    try:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return str(user.pk)
    except Exception:
        return "?"
    return "-"


class RequestContextFilter(logging.Filter):
    """Adds request_id and user_id ("-" when there is none) to every record, for the formatter
    in settings.LOGGING. Django's own error records carry the request; others take the
    request being served by this thread, if any."""

    def filter(self, record):
        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest):
            request = _current_request.get()
        record.request_id = getattr(request, "request_id", None) or "-"
        record.user_id = _user_id(request) if request is not None else "-"
        return True
