"""Production hardening: deploy checks, CSP, the health check, login throttling, uploads and
who may fetch stored files."""

import base64
import datetime
import io
import json
import os
import re
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connections
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from ita_portal.views import client_ip
from plans.models import Plan, Progress, StoredDocument
from plans.services import plan_approve, plan_draft_from_assessment, plan_sign, plan_submit, progress_record
from tests.conftest import SIGN_DATA

BASE_DIR = Path(django_settings.BASE_DIR)
LOCKED = "ระงับการเข้าสู่ระบบชั่วคราว"
LOGIN = "/accounts/login/"


# --- deploy settings and CSP ----------------------------------------------------------------


def test_it_passes_check_deploy_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SIGNING_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "ita.example.go.th",
        "CSRF_TRUSTED_ORIGINS": "https://ita.example.go.th",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "ita_portal.settings",
    }
    env.pop("PUBLIC_BASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_with_an_http_public_address(tmp_path):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "SIGNING_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "ita.example.go.th",
        "PUBLIC_BASE_URL": "http://ita.example.go.th",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0 and "PUBLIC_BASE_URL" in result.stderr


def csp_directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_it_sends_a_csp_header_without_unsafe_script_sources(client, owner):
    client.force_login(owner)
    response = client.get(reverse("plans:home"))
    assert response.status_code == 200
    directives = csp_directives(response)
    script_src = directives.get("script-src", directives["default-src"])
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in script_src
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]


SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
INLINE_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']|javascript:""", re.IGNORECASE)


def test_it_has_no_inline_script_in_any_template():
    offenders = []
    for path in sorted((BASE_DIR / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for attributes, body in SCRIPT.findall(text):
            if body.strip() and "application/json" not in attributes.lower():
                offenders.append(f"{path.relative_to(BASE_DIR)}: <script{attributes}>")
        if INLINE_HANDLER.search(text):
            offenders.append(f"{path.relative_to(BASE_DIR)}: inline event handler or javascript: URL")
    assert offenders == []


# --- health check ----------------------------------------------------------------------------


def test_it_reports_a_healthy_database_without_login(client, db):
    response = client.get("/healthz")
    data = json.loads(response.content)
    assert response.status_code == 200
    assert data["status"] == "ok" and data["database"] == "ok" and data["version"]


def test_it_writes_no_session_on_healthz(client, db):
    response = client.get("/healthz")
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_it_answers_503_when_the_database_query_fails(client, db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connections["default"], "cursor", broken_cursor)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["database"] == "error"


# --- login throttling ------------------------------------------------------------------------


def attempt(client, username, password, ip, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def logged_in(client):
    return "_auth_user_id" in client.session


def fail_five_times(client, username, ip, **extra):
    for _ in range(5):
        attempt(client, username, "wrong-password", ip, **extra)


def test_it_locks_a_username_after_five_failures_from_one_address_even_with_the_right_password(client, owner):
    fail_five_times(client, "owner", "10.0.0.1")
    response = attempt(client, "owner", "pw", "10.0.0.1")
    assert response.status_code in (403, 429)
    assert LOCKED in response.content.decode() and "๑๕ นาที" in response.content.decode()
    assert not logged_in(client)


def test_it_lets_another_username_log_in_from_the_locked_address(client, owner, wg_member):
    fail_five_times(client, "owner", "10.0.0.1")
    response = attempt(client, "member", "pw", "10.0.0.1")
    assert response.status_code == 302 and logged_in(client)


def test_it_lets_the_locked_username_log_in_from_another_address(client, owner):
    fail_five_times(client, "owner", "10.0.0.1")
    response = attempt(client, "owner", "pw", "10.0.0.2")
    assert response.status_code == 302 and logged_in(client)


def test_it_still_lets_tests_force_login_a_locked_user(client, owner):
    fail_five_times(client, "owner", "127.0.0.1")
    client.force_login(owner)
    assert client.get(reverse("plans:home")).status_code == 200


def test_it_locks_the_client_address_behind_a_proxy_not_the_proxy(client, owner, settings):
    settings.PROXY_COUNT = 1
    fail_five_times(client, "owner", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    locked = attempt(client, "owner", "pw", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert locked.status_code in (403, 429) and not logged_in(client)
    other = attempt(client, "owner", "pw", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 302 and logged_in(client)


def test_it_ignores_addresses_a_client_writes_into_x_forwarded_for_itself(client, owner, settings):
    settings.PROXY_COUNT = 1
    fail_five_times(client, "owner", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    # nginx appends the real address after whatever the client sent.
    response = attempt(client, "owner", "pw", "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    assert response.status_code in (403, 429) and not logged_in(client)


@pytest.mark.parametrize(
    ("proxy_count", "forwarded", "expected"),
    [
        (0, "203.0.113.7", "10.0.0.1"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        (2, "203.0.113.7, 10.1.1.1", "203.0.113.7"),
        (2, "203.0.113.7", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_it_reads_the_client_address_as_configured(settings, proxy_count, forwarded, expected):
    settings.PROXY_COUNT = proxy_count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


# --- uploads ---------------------------------------------------------------------------------


def image_bytes(size=(120, 40), fmt="PNG", noise=False):
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, "white")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def office_bytes(main_type, main_part):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types"><Override PartName="/{main_part}" ContentType="{main_type}"/></Types>',
        )
        archive.writestr(main_part, "<x/>")
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media):
    if not media.exists():
        return []
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


@pytest.fixture
def approved(media, seed_assessment, owner, wg_member, mayor, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    return plan


def sign_with(client, mayor, plan, upload):
    client.force_login(mayor)
    return client.post(reverse("plans:sign", args=[plan.pk]), {**SIGN_DATA, "signature_image": upload})


NOT_AN_IMAGE = "ภาพลายมือชื่อ: รองรับเฉพาะไฟล์ PNG หรือ JPEG"
NOT_EVIDENCE = "ไฟล์หลักฐาน: รองรับเฉพาะไฟล์ PDF, PNG, JPEG, XLSX หรือ DOCX"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("signature.png", b"GIF89a not really an image", NOT_AN_IMAGE),
        ("signature.png", b"<html><script>alert(1)</script></html>", NOT_AN_IMAGE),
        ("signature.gif", image_bytes(fmt="GIF"), NOT_AN_IMAGE),
        ("signature.png", image_bytes(size=(900, 900), noise=True), "ภาพลายมือชื่อ: ไฟล์มีขนาด"),
        ("signature.png", image_bytes(size=(4001, 10)), "ภาพลายมือชื่อ: ภาพมีขนาด 4001×10 พิกเซล"),
    ],
    ids=["gif-header", "html", "real-gif", "over-2mb", "over-4000px"],
)
def test_it_refuses_a_bad_signature_image_and_stores_nothing(client, approved, mayor, media, name, content,
                                                              message):
    before = stored_files(media)
    response = sign_with(client, mayor, approved, SimpleUploadedFile(name, content))
    assert response.status_code == 200
    assert message in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == Plan.Status.APPROVED and not approved.signature_image
    assert stored_files(media) == before and not StoredDocument.objects.exists()


def test_it_stores_a_signature_image_under_a_random_name(client, approved, mayor, media):
    upload = SimpleUploadedFile("นายสาธิต-ลายเซ็น.JPG", image_bytes(fmt="JPEG"))
    response = sign_with(client, mayor, approved, upload)
    assert response.status_code == 302
    approved.refresh_from_db()
    assert re.fullmatch(r"signatures/\d{4}/[0-9a-f]{32}\.jpg", approved.signature_image.name)
    assert (media / approved.signature_image.name).is_file()


@pytest.fixture
def signed(approved, mayor):
    plan_sign(plan=approved, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
              meeting_date=datetime.date(2025, 9, 16))
    return approved


def record_with(client, owner, plan, upload):
    client.force_login(owner)
    measure = plan.measures.first()
    return client.post(
        reverse("plans:progress", args=[plan.pk]),
        {"measure": measure.pk, "quarter": 1, "status": "done", "evidence_file": upload},
        follow=True,
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("report.pdf", b"<html><body>not a pdf</body></html>", NOT_EVIDENCE),
        ("report.exe", b"MZ\x90\x00" + b"\x00" * 100, NOT_EVIDENCE),
        ("data.xlsx", office_bytes("application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl/workbook.xml"),
         "ไฟล์หลักฐาน: รองรับเฉพาะไฟล์"),
        ("photos.zip", office_bytes("application/xml", "a.xml"), "ไฟล์หลักฐาน: รองรับเฉพาะไฟล์"),
        ("big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "ไฟล์หลักฐาน: ไฟล์มีขนาด 10.1 MB เกินกำหนด 10 MB"),
    ],
    ids=["html-as-pdf", "exe", "xlsm", "plain-zip", "over-10mb"],
)
def test_it_refuses_bad_evidence_and_stores_nothing(client, signed, owner, media, name, content, message):
    before = stored_files(media)
    response = record_with(client, owner, signed, SimpleUploadedFile(name, content))
    assert message in response.content.decode()
    assert not Progress.objects.exists()
    assert stored_files(media) == before


@pytest.mark.parametrize(
    ("name", "content", "extension"),
    [
        ("รายงาน.pdf", b"%PDF-1.4 evidence", ".pdf"),
        ("photo.jpeg", image_bytes(size=(4032, 30), fmt="JPEG"), ".jpg"),
        ("สรุป.xlsx", office_bytes(XLSX, "xl/workbook.xml"), ".xlsx"),
        ("บันทึก.docx", office_bytes(DOCX, "word/document.xml"), ".docx"),
        ("no-extension", image_bytes(), ".png"),
    ],
    ids=["pdf", "phone-photo", "xlsx", "docx", "png-without-extension"],
)
def test_it_stores_evidence_by_its_content_type_under_a_random_name(client, signed, owner, media, name, content,
                                                                    extension):
    record_with(client, owner, signed, SimpleUploadedFile(name, content))
    stored = Progress.objects.get().evidence_file.name
    assert re.fullmatch(r"evidence/\d{4}/[0-9a-f]{32}" + re.escape(extension), stored)


def agency_admin_data(agency, **changes):
    return {
        "code": agency.code, "name": agency.name, "agency_type": agency.agency_type,
        "district": agency.district, "province": agency.province, "table_digits": agency.table_digits,
        "signing_pkcs12_password": "", **changes,
    }


def test_it_refuses_a_bad_emblem_in_the_admin_and_stores_nothing(client, admin_user, agency_a, media):
    client.force_login(admin_user)
    upload = SimpleUploadedFile("emblem.png", b"%PDF-1.4 not an image")
    response = client.post(reverse("admin:assessments_agency_change", args=[agency_a.pk]),
                           agency_admin_data(agency_a, emblem=upload))
    assert response.status_code == 200
    assert "ตราสัญลักษณ์: รองรับเฉพาะไฟล์ PNG หรือ JPEG" in response.content.decode()
    agency_a.refresh_from_db()
    assert not agency_a.emblem and stored_files(media) == []


def test_it_stores_an_emblem_from_the_admin_under_a_random_name(client, admin_user, agency_a, media):
    client.force_login(admin_user)
    upload = SimpleUploadedFile("ตรา อบต.png", image_bytes(size=(300, 300)))
    response = client.post(reverse("admin:assessments_agency_change", args=[agency_a.pk]),
                           agency_admin_data(agency_a, emblem=upload))
    assert response.status_code == 302
    agency_a.refresh_from_db()
    assert re.fullmatch(r"emblems/[0-9a-f]{32}\.png", agency_a.emblem.name)
    assert stored_files(media) == [agency_a.emblem.name]


# --- who may fetch stored files ------------------------------------------------------------


@pytest.fixture
def evidence(signed, owner):
    measure = signed.measures.first()
    return progress_record(measure=measure, quarter=1, user=owner, status="done",
                           evidence_file=SimpleUploadedFile("proof.pdf", b"%PDF-1.4 secret of agency A"))


def test_it_serves_evidence_to_its_agency(client, evidence, owner):
    client.force_login(owner)
    response = client.get(reverse("plans:evidence", args=[evidence.measure.plan_id, evidence.pk]))
    assert response.status_code == 200 and b"secret of agency A" in b"".join(response.streaming_content)


def test_it_does_not_serve_another_agencys_evidence(client, evidence, outsider):
    client.force_login(outsider)
    response = client.get(reverse("plans:evidence", args=[evidence.measure.plan_id, evidence.pk]))
    assert response.status_code in (403, 404)


def test_it_never_serves_media_from_a_public_url(client, evidence, owner):
    client.force_login(owner)
    assert client.get("/" + django_settings.MEDIA_URL + evidence.evidence_file.name).status_code == 404
    client.logout()
    assert client.get("/" + django_settings.MEDIA_URL + evidence.evidence_file.name).status_code == 404


def test_it_does_not_publish_the_announcement_of_an_unsigned_plan(client, approved, media):
    document = StoredDocument.objects.create(
        plan=approved, kind=StoredDocument.Kind.ANNOUNCEMENT, title="ร่างประกาศ",
        file=ContentFile(b"%PDF-1.4 draft", name="draft.pdf"), sha256="0" * 64, verify_code="DRAFT0001",
    )
    response = client.get(reverse("plans:public_document", args=[approved.agency.code, document.verify_code]))
    assert response.status_code == 404


def test_it_does_not_give_another_agency_the_announcement_of_a_plan(client, approved, outsider):
    client.force_login(outsider)
    response = client.get(reverse("plans:document", args=[approved.pk, "announcement"]))
    assert response.status_code in (403, 404)

