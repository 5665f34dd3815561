"""Site-wide views and request helpers: the health check, the login lock-out page, the
client address used by django-axes, the error page and the password reset."""

import ipaddress
import subprocess
from functools import cache

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import DatabaseError, connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache

import ita_portal


@cache
def version():
    """`git describe` of the checkout when git can read it, else ita_portal.VERSION.
    Computed once per process: a health check must not spawn a process each time."""
    try:
        described = subprocess.run(
            ["git", "describe", "--tags", "--always"],
            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=2, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return described or ita_portal.VERSION


@never_cache
def healthz(request):
    # No login and no session: monitors call this every few seconds.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except DatabaseError:
        database = "error"
    status = "ok" if database == "ok" else "error"
    return JsonResponse(
        {"status": status, "database": database, "version": version()}, status=200 if status == "ok" else 503
    )


def client_ip(request):
    """The client's address for login throttling (settings.AXES_CLIENT_IP_CALLABLE).

    Behind PROXY_COUNT reverse proxies, each appends the address it saw to X-Forwarded-For, so
    the client is the PROXY_COUNT-th entry from the right; entries further left were written
    by the client and are not trusted. Without proxies, or when the header is missing or not
    an address, REMOTE_ADDR."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.PROXY_COUNT
    if count <= 0:
        return remote
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def locked_out(request, original_response=None, credentials=None):
    """The page django-axes shows on a locked-out login (settings.AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429),
    )


def server_error(request):
    """The 500 page (urls.handler500): no database, no base layout, only what the user needs to
    report the error; the request id finds its traceback in the journal."""
    # Rendered without the request: no context processor (and so no query) can fail again here.
    html = loader.get_template("500.html").render({"request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(html)


class PasswordResetView(auth_views.PasswordResetView):
    """Reset by e-mail, for every active user with an e-mail address. An unknown address gets
    the same "sent" page and no mail, so the form does not tell who has an account. The link
    is built on PUBLIC_BASE_URL, not on the Host header the request came with."""

    template_name = "registration/password/reset_form.html"
    email_template_name = "registration/password/reset_email.txt"
    subject_template_name = "registration/password/reset_subject.txt"

    @property
    def extra_email_context(self):
        return {"base_url": settings.PUBLIC_BASE_URL}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password/reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        # A user locked out by wrong guesses who proved the mailbox may log in with the new
        # password now, not after the cool-off; other usernames' lock-outs stay.
        axes_reset(username=form.user.get_username())
        return response
