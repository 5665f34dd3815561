"""Site-wide views and request helpers: the health check, the login lock-out page and the
client address used by django-axes."""

import ipaddress
import subprocess
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
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
