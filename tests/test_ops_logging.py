"""Errors leave a trace (issue 11, item 5): a 500 writes its traceback to stderr, which systemd
keeps in the journal, with the request id (also sent back as X-Request-ID) and the user id."""

import base64
import io
import logging
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings as django_settings

BASE_DIR = Path(django_settings.BASE_DIR)
BOOM = "/ops-test/boom/"


@pytest.fixture
def stderr_log():
    """What the portal's stderr handler (settings.LOGGING) writes, formatter and filter included."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "stderr")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.fixture
def production(settings):
    settings.DEBUG = False


@pytest.mark.urls("tests.ops_urls")
def test_it_logs_the_traceback_request_id_and_user_of_a_500(client, wg_member, production, stderr_log):
    client.raise_request_exception = False
    client.force_login(wg_member)
    response = client.get(BOOM)
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0  # a uuid4 in hex
    logged = stderr_log.getvalue()
    assert f"ERROR django.request [request_id={request_id} user_id={wg_member.pk}] Internal Server Error: {BOOM}" in logged
    assert "Traceback (most recent call last):" in logged
    assert "PortalTestFailure: ops-test: the view failed on purpose" in logged
    # The page tells the user what to quote, and shows no traceback.
    page = response.content.decode()
    assert request_id in page and "ระบบขัดข้องชั่วคราว" in page and "Traceback" not in page


@pytest.mark.urls("tests.ops_urls")
def test_it_keeps_a_sane_incoming_request_id_and_logs_no_user_when_anonymous(client, production, stderr_log):
    client.raise_request_exception = False
    response = client.get(BOOM, headers={"X-Request-ID": "9f1c2e7a0b3d4c5e8f6a7b8c9d0e1f2a"})
    assert response["X-Request-ID"] == "9f1c2e7a0b3d4c5e8f6a7b8c9d0e1f2a"
    assert "[request_id=9f1c2e7a0b3d4c5e8f6a7b8c9d0e1f2a user_id=-] Internal Server Error" in stderr_log.getvalue()


@pytest.mark.parametrize("incoming", ["a b", "x\nERROR forged line", "'; DROP", "-starts-with-dash", "x" * 129, ""])
def test_it_replaces_an_insane_incoming_request_id(client, db, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    request_id = response["X-Request-ID"]
    assert request_id != incoming and len(request_id) == 32 and int(request_id, 16) >= 0


def test_it_gives_each_request_its_own_id(client, db):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


def test_it_writes_the_traceback_to_stderr_with_production_settings(tmp_path):
    """DJANGO_DEBUG=0 in a fresh process: the error goes to the process's real stderr."""
    script = textwrap.dedent("""
        import django
        django.setup()
        from django.contrib.auth.models import User
        from django.core.handlers.exception import convert_exception_to_response
        from django.test import RequestFactory
        from ita_portal.middleware import RequestIdMiddleware

        def view(request):
            raise ZeroDivisionError("ops-test division")

        request = RequestFactory().get("/plans/1/", headers={"X-Request-ID": "req-ops-0042"})
        request.user = User(pk=4242, username="somchai")
        response = RequestIdMiddleware(convert_exception_to_response(view))(request)
        print(response.status_code, response["X-Request-ID"])
    """)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SIGNING_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "testserver",
        "PUBLIC_BASE_URL": "https://ita.example.go.th",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "ita_portal.settings",
    }
    env.pop("LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["500", "req-ops-0042"]
    assert "ERROR django.request [request_id=req-ops-0042 user_id=4242] Internal Server Error: /plans/1/" in result.stderr
    assert "Traceback (most recent call last):" in result.stderr
    assert "ZeroDivisionError: ops-test division" in result.stderr
