"""The agency's signing certificate and its password (issue 11, item 2) and the public address
printed in signed announcements (issue 10, item 7): each test plays the attack or the careless
set-up and checks the refusal."""

import base64
import datetime
import importlib
import io
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from assessments.models import Agency
from ita_portal import signing_secrets
from plans.models import Plan, StoredDocument
from plans.services import plan_approve, plan_draft_from_assessment, plan_submit
from tests.conftest import SIGN_DATA
from tests.pdf_utils import pdf_text

BASE_DIR = Path(django_settings.BASE_DIR)
PASSWORD = "รหัส-นายก-2568!"
CERTIFICATE_REFUSED = "ลงลายมือชื่ออิเล็กทรอนิกส์ด้วยใบรับรองของหน่วยงานไม่ได้"
NOT_PKCS12 = "ใบรับรองสำหรับลงลายมือชื่ออิเล็กทรอนิกส์ (PKCS#12): ไฟล์นี้ไม่ใช่ใบรับรองแบบ PKCS#12"
WRONG_PASSWORD = "รหัสผ่านใบรับรอง: เปิดไฟล์ใบรับรองด้วยรหัสผ่านนี้ไม่ได้"


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_bytes(password=PASSWORD, *, days_left=365, with_key=True):
    """A self-signed signing certificate as PKCS#12 bytes, made here in memory."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "อบต.ทดสอบ"), x509.NameAttribute(NameOID.COUNTRY_NAME, "TH")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now + datetime.timedelta(days=days_left))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(_KEY, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(
        name=b"test", key=_KEY if with_key else None, cert=cert if with_key else None,
        cas=None if with_key else [cert], encryption_algorithm=encryption,
    )


def stored_files(root):
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def media(settings):
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def certified(agency_a, media):
    """Agency A with a certificate and its password stored the way the portal stores them."""
    agency_a.signing_pkcs12.save("0123456789abcdef0123456789abcdef.p12",
                                 ContentFile(certificate_bytes()), save=False)
    agency_a.set_signing_password(PASSWORD)
    agency_a.save()
    return agency_a


def admin_data(agency, **changes):
    return {
        "code": agency.code, "name": agency.name, "agency_type": agency.agency_type,
        "district": agency.district, "province": agency.province, "table_digits": agency.table_digits,
        **changes,
    }


def admin_change(client, user, agency, **changes):
    client.force_login(user)
    return client.post(reverse("admin:assessments_agency_change", args=[agency.pk]), admin_data(agency, **changes))


def raw_column(agency):
    with connection.cursor() as cursor:
        cursor.execute("SELECT signing_pkcs12_password_encrypted FROM assessments_agency WHERE id = %s", [agency.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def agency_editor(owner):
    """Agency A's staff given the model permission to edit agencies (not a superuser)."""
    owner.user_permissions.add(Permission.objects.get(codename="change_agency"))
    return owner


# --- the password never appears on a page ----------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "agency_editor", "admin_user"])
def test_it_never_shows_the_certificate_password_on_the_agency_admin_page(client, certified, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(reverse("admin:assessments_agency_change", args=[certified.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert PASSWORD not in html and PASSWORD.encode().hex() not in html
    assert raw_column(certified) not in html
    assert "บันทึกรหัสผ่านไว้แล้ว" in html
    if who == "owner":  # read-only page: no password input at all
        assert 'name="signing_pkcs12_password"' not in html
    else:
        field = re.search(r'<input[^>]*name="signing_pkcs12_password"[^>]*>', html).group(0)
        assert 'type="password"' in field and "value=" not in field


def test_it_never_shows_the_password_after_a_refused_save(client, certified, agency_editor):
    response = admin_change(client, agency_editor, certified, signing_pkcs12_password="ลองผิด-123",
                            signing_pkcs12=SimpleUploadedFile("x.p12", b"not a certificate"))
    assert response.status_code == 200
    assert "ลองผิด-123" not in response.content.decode() and PASSWORD not in response.content.decode()


# --- encrypted at rest ---------------------------------------------------------------------


def test_it_keeps_only_ciphertext_of_the_password_in_the_database(client, agency_a, agency_editor, media):
    response = admin_change(client, agency_editor, agency_a, signing_pkcs12_password=PASSWORD,
                            signing_pkcs12=SimpleUploadedFile("cert.p12", certificate_bytes()))
    assert response.status_code == 302
    raw = raw_column(agency_a)
    (through_orm,) = Agency.objects.filter(pk=agency_a.pk).values_list("signing_pkcs12_password_encrypted", flat=True)
    for stored in (raw, through_orm):
        assert stored and PASSWORD not in stored and PASSWORD.encode().hex() not in stored
    assert Fernet(django_settings.SIGNING_SECRET_KEY.encode()).decrypt(raw.encode()).decode() == PASSWORD
    agency_a.refresh_from_db()
    assert agency_a.signing_password() == PASSWORD
    assert not any(PASSWORD.encode() in (media / name).read_bytes() for name in stored_files(media))


def test_it_cannot_read_the_password_under_another_key(certified, settings):
    settings.SIGNING_SECRET_KEY = Fernet.generate_key().decode()
    certified.refresh_from_db()
    with pytest.raises(signing_secrets.UnreadableSecret):
        certified.signing_password()


def test_it_keeps_the_stored_password_when_the_field_is_left_empty(client, certified, agency_editor):
    before = raw_column(certified)
    assert admin_change(client, agency_editor, certified, signing_pkcs12_password="").status_code == 302
    certified.refresh_from_db()
    assert raw_column(certified) == before and certified.signing_password() == PASSWORD


def test_it_clears_the_stored_password_only_when_asked(client, agency_a, agency_editor):
    agency_a.set_signing_password(PASSWORD)
    agency_a.save()
    assert admin_change(client, agency_editor, agency_a, clear_signing_pkcs12_password="on").status_code == 302
    agency_a.refresh_from_db()
    assert raw_column(agency_a) == "" and agency_a.signing_password() == ""


def test_it_encrypts_the_passwords_already_stored_in_clear_when_migrating(agency_a, agency_b):
    # As 0006 left them: the plain password in the column (now renamed).
    Agency.objects.filter(pk=agency_a.pk).update(signing_pkcs12_password_encrypted=PASSWORD)
    migration = importlib.import_module("assessments.migrations.0007_sec_encrypt_signing_password")
    migration.encrypt_passwords(django_apps, None)
    assert PASSWORD not in raw_column(agency_a) and raw_column(agency_b) == ""
    agency_a.refresh_from_db()
    assert agency_a.signing_password() == PASSWORD
    migration.decrypt_passwords(django_apps, None)
    assert raw_column(agency_a) == PASSWORD


def run_manage_check(tmp_path, **env_changes):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "ita.example.go.th",
        "PUBLIC_BASE_URL": "https://ita.example.go.th",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "ita_portal.settings",
    }
    env.pop("SIGNING_SECRET_KEY", None)
    env.update(env_changes)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_it_refuses_to_start_in_production_without_a_signing_key(tmp_path):
    result = run_manage_check(tmp_path)
    assert result.returncode != 0 and "SIGNING_SECRET_KEY must be set when DJANGO_DEBUG=0" in result.stderr
    malformed = run_manage_check(tmp_path, SIGNING_SECRET_KEY="not-a-key")
    assert malformed.returncode != 0 and "SIGNING_SECRET_KEY must be 32 bytes" in malformed.stderr
    good = run_manage_check(tmp_path, SIGNING_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert good.returncode == 0, good.stderr


# --- the certificate file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cert.p12", b"%PDF-1.4 not a certificate"),
        ("cert.p12", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        ("cert.pfx", b"\x30\x82\x01\x00" + os.urandom(256)),
    ],
    ids=["pdf", "pem", "random-der"],
)
def test_it_refuses_a_file_that_is_not_a_pkcs12(client, agency_a, agency_editor, media, name, content):
    response = admin_change(client, agency_editor, agency_a, signing_pkcs12_password=PASSWORD,
                            signing_pkcs12=SimpleUploadedFile(name, content))
    assert response.status_code == 200
    assert NOT_PKCS12 in response.content.decode()
    agency_a.refresh_from_db()
    assert not agency_a.signing_pkcs12 and raw_column(agency_a) == ""
    assert stored_files(media) == []


def test_it_refuses_a_certificate_with_the_wrong_password(client, agency_a, agency_editor, media):
    response = admin_change(client, agency_editor, agency_a, signing_pkcs12_password="ไม่ใช่รหัสนี้",
                            signing_pkcs12=SimpleUploadedFile("cert.p12", certificate_bytes()))
    assert response.status_code == 200
    assert WRONG_PASSWORD in response.content.decode()
    agency_a.refresh_from_db()
    assert not agency_a.signing_pkcs12 and raw_column(agency_a) == "" and stored_files(media) == []


def test_it_refuses_a_new_password_that_does_not_open_the_stored_certificate(client, certified, agency_editor):
    before = raw_column(certified)
    response = admin_change(client, agency_editor, certified, signing_pkcs12_password="รหัสใหม่ที่ผิด")
    assert response.status_code == 200 and WRONG_PASSWORD in response.content.decode()
    assert raw_column(certified) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (certificate_bytes(with_key=False), "ไฟล์ต้องมีทั้งกุญแจส่วนตัวและใบรับรองของผู้ลงนาม"),
        (certificate_bytes(days_left=-2), "ใบรับรองหมดอายุแล้ว"),
    ],
    ids=["no-private-key", "expired"],
)
def test_it_refuses_a_certificate_that_cannot_sign(client, agency_a, agency_editor, media, content, message):
    response = admin_change(client, agency_editor, agency_a, signing_pkcs12_password=PASSWORD,
                            signing_pkcs12=SimpleUploadedFile("cert.p12", content))
    assert response.status_code == 200 and message in response.content.decode()
    assert stored_files(media) == []


def test_it_stores_the_certificate_under_a_random_name(client, certified, agency_editor, media,
                                                       django_capture_on_commit_callbacks):
    old = certified.signing_pkcs12.name
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_change(client, agency_editor, certified, signing_pkcs12_password=PASSWORD,
                                signing_pkcs12=SimpleUploadedFile("ใบรับรอง นายกสมชาย 2568.p12", certificate_bytes()))
    assert response.status_code == 302
    certified.refresh_from_db()
    assert re.fullmatch(r"certificates/[0-9a-f]{32}\.p12", certified.signing_pkcs12.name)
    assert certified.signing_pkcs12.name != old
    # The replaced certificate (a private key) does not stay behind.
    assert stored_files(media) == [certified.signing_pkcs12.name]


def test_it_makes_a_demo_certificate_with_an_encrypted_password(agency_a, media):
    call_command("create_demo_certificate", "A001", stdout=io.StringIO())
    agency_a.refresh_from_db()
    assert re.fullmatch(r"certificates/demo/[0-9a-f]{32}\.p12", agency_a.signing_pkcs12.name)
    password = agency_a.signing_password()
    assert password and password not in raw_column(agency_a)
    with agency_a.signing_pkcs12.open("rb") as f:
        assert signing_secrets.pkcs12_problem(f.read(), password) is None


# --- signing with a broken certificate -----------------------------------------------------


@pytest.fixture
def approved(seed_assessment, owner, wg_member, mayor, library, media):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    return plan


def signature_png():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def sign_page(client, mayor, plan, **extra):
    client.force_login(mayor)
    data = {**SIGN_DATA, "signature_image": SimpleUploadedFile("ลายมือชื่อ.png", signature_png()), **extra}
    return client.post(reverse("plans:sign", args=[plan.pk]), data)


def break_certificate(agency, how, settings):
    if how == "not-pkcs12":
        with agency.signing_pkcs12.open("wb") as f:
            f.write(b"garbage, not a certificate")
    elif how == "wrong-password":
        agency.set_signing_password("รหัสผ่านเก่าที่ไม่ใช่แล้ว")
        agency.save()
    elif how == "file-missing":
        agency.signing_pkcs12.storage.delete(agency.signing_pkcs12.name)
    elif how == "other-key":
        settings.SIGNING_SECRET_KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize("how", ["not-pkcs12", "wrong-password", "file-missing", "other-key"])
def test_it_refuses_to_sign_with_a_broken_certificate_and_leaves_nothing(client, approved, certified, mayor, media,
                                                                        settings, how):
    break_certificate(certified, how, settings)
    before = stored_files(media)
    response = sign_page(client, mayor, approved)
    assert response.status_code == 200
    assert CERTIFICATE_REFUSED in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == Plan.Status.APPROVED and not approved.signature_image and approved.signed_by is None
    assert not StoredDocument.objects.exists()
    assert stored_files(media) == before


def test_it_removes_the_files_of_a_signing_that_fails_after_writing(client, approved, certified, mayor, media,
                                                                     monkeypatch):
    # A certificate that opens but that pyHanko then refuses (an algorithm it cannot use, say).
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers import PdfSigner

    def refuse(*args, **kwargs):
        raise SigningError("unsupported key")

    monkeypatch.setattr(PdfSigner, "sign_pdf", refuse)
    before = stored_files(media)
    response = sign_page(client, mayor, approved)
    assert response.status_code == 200 and CERTIFICATE_REFUSED in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == Plan.Status.APPROVED and not StoredDocument.objects.exists()
    assert stored_files(media) == before


# --- PUBLIC_BASE_URL before signing (issue 10, item 7) -------------------------------------


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:8000", "https://localhost", "https://[::1]", "http://ita.example.go.th"]
)
def test_it_refuses_to_sign_in_production_while_the_public_address_is_not_real(client, approved, mayor, media,
                                                                             settings, url):
    settings.PUBLIC_BASE_URL_REQUIRED = True
    settings.PUBLIC_BASE_URL = url
    client.force_login(mayor)
    page = client.get(reverse("plans:sign", args=[approved.pk])).content.decode()
    assert "ตั้ง PUBLIC_BASE_URL เป็นที่อยู่ https://" in page and url in page
    assert re.search(r'<button type="submit" class="primary" disabled>', page)
    response = sign_page(client, mayor, approved)
    assert response.status_code == 200
    assert "ยังลงนามประกาศไม่ได้" in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == Plan.Status.APPROVED and not StoredDocument.objects.exists()
    assert stored_files(media) == []


def test_it_signs_in_production_with_a_real_public_address(client, approved, mayor, settings):
    settings.PUBLIC_BASE_URL_REQUIRED = True
    settings.PUBLIC_BASE_URL = "https://ita.example.go.th"
    client.force_login(mayor)
    page = client.get(reverse("plans:sign", args=[approved.pk])).content.decode()
    assert "PUBLIC_BASE_URL" not in page
    assert sign_page(client, mayor, approved).status_code == 302
    document = StoredDocument.objects.get(plan=approved)
    with document.file.open("rb") as f:
        assert "ita.example.go.th/v/" in pdf_text(f.read()).replace("\n", "")


def test_it_tells_the_demo_signatory_that_the_qr_code_points_at_this_machine(client, approved, mayor, settings):
    settings.PUBLIC_BASE_URL_REQUIRED = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    client.force_login(mayor)
    page = client.get(reverse("plans:sign", args=[approved.pk])).content.decode()
    notice = re.search(r'<li class="msg-info" role="note" id="public-address-notice">(.*?)</li>', page, re.S).group(1)
    assert "โหมดทดลอง" in notice and "http://127.0.0.1:8000" in notice and "PUBLIC_BASE_URL" in notice
    assert "disabled" not in page


def test_it_removes_the_certificate_file_and_its_password_when_the_certificate_is_cleared(
    client, certified, agency_editor, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_change(client, agency_editor, certified, **{"signing_pkcs12-clear": "on"})
    assert response.status_code == 302
    certified.refresh_from_db()
    assert not certified.signing_pkcs12 and raw_column(certified) == ""
    assert stored_files(media) == []


def test_it_hides_the_typed_password_from_the_error_report_of_a_failed_save(client, certified, agency_editor,
                                                                           monkeypatch):
    from django.views.debug import ExceptionReporter

    from assessments.admin import AgencyAdmin

    reports = []

    def crash(self, request, *args, **kwargs):
        try:
            raise RuntimeError("disk full")
        except RuntimeError:
            # What the error log and the administrators' e-mail would carry (DEBUG off).
            reports.append(ExceptionReporter(request, *sys.exc_info(), is_email=True).get_traceback_text())
            raise

    monkeypatch.setattr(AgencyAdmin, "save_model", crash)
    client.raise_request_exception = False
    response = admin_change(client, agency_editor, certified, signing_pkcs12_password=PASSWORD)
    assert response.status_code == 500 and PASSWORD not in response.content.decode()
    (report,) = reports
    assert "disk full" in report and "signing_pkcs12_password" in report and PASSWORD not in report
