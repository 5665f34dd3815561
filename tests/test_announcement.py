"""The announcement (ประกาศ): draft with a watermark, signed once and stored byte for
byte, public verification by hash or upload, optional PAdES signature."""

import datetime
import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from plans import services, verify_views
from plans.announcement import render_announcement
from plans.models import StoredDocument
from tests.pdf_utils import contains, embedded_fonts, pdf_pages, pdf_text, weasyprint_warnings

NAME = "นายสาธิต ระบบดี"
POSITION = "นายกองค์การบริหารส่วนตำบลพลสงคราม"
MATCH, NO_MATCH = "ตรงกับเอกสารที่ลงนาม", "ไม่ตรงกับเอกสารที่ลงนาม"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def approved(seed_assessment, owner, wg_member, library):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    services.plan_submit(plan=plan, user=owner)
    services.plan_approve(plan=plan, user=wg_member)
    return plan


def sign(plan, mayor):
    services.plan_sign(plan=plan, user=mayor, signatory_name=NAME, signatory_position=POSITION,
                       announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
                       meeting_date=datetime.date(2025, 9, 16))
    plan.refresh_from_db()
    return plan


@pytest.fixture
def signed(approved, mayor):
    return sign(approved, mayor)


def stored_bytes(plan):
    document = StoredDocument.objects.get(plan=plan, kind="announcement")
    with document.file.open("rb") as f:
        return document, f.read()


def changed(data, at):
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def inside_first_stream(data):
    """An offset inside the first content stream: covered by the signature's byte range."""
    return data.index(b"stream", data.index(b"/Length")) + 40


def check(client, url, **data):
    return client.post(url, data).content.decode()


def test_it_renders_the_draft_with_a_watermark_and_a_blank_signature_block(approved):
    pdf = render_announcement(approved)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert all(contains(text, "ร่าง (ยังไม่ได้ลงนาม)") for text in pages)
    assert contains(pdf, "ประกาศองค์การบริหารส่วนตำบลพลสงคราม")
    assert not contains(pdf, "สาธิต") and not contains(pdf, "ประกาศ ณ วันที่ ๒ ตุลาคม")
    assert not StoredDocument.objects.exists()


def test_it_prints_the_signatory_and_thai_figures_once_signed(approved, mayor):
    with weasyprint_warnings() as warnings:
        sign(approved, mayor)
    pdf = render_announcement(approved)
    text = pdf_text(pdf)
    for phrase in (NAME, POSITION, "ประกาศองค์การบริหารส่วนตำบลพลสงคราม", "ประกาศ ณ วันที่ ๒ ตุลาคม พ.ศ. ๒๕๖๘",
                   "ครั้งที่ ๑/๒๕๖๘ เมื่อวันที่ ๑๖ กันยายน ๒๕๖๘", "๙๒.๒๗", "ผ่านดี", "ประจำปีงบประมาณ พ.ศ. ๒๕๖๙"):
        assert contains(text, phrase), phrase
    assert "2568" not in text and "2569" not in text
    assert not contains(PdfReader(io.BytesIO(pdf)).pages[0].extract_text(), "ยังไม่ได้ลงนาม")
    assert any("Sarabun" in name for name in embedded_fonts(pdf))
    assert not [w for w in warnings if ".notdef" in w]
    assert 2 <= pdf_pages(pdf) <= 10


def test_it_groups_measures_by_tool_and_switches_table_digits_when_asked(approved):
    agency = approved.agency
    agency.table_digits = "arabic"
    agency.save()
    text = pdf_text(render_announcement(approved))
    tools = [text.index(code) for code in ("(IIT)", "(EIT)", "(OIT)")]
    assert tools == sorted(tools)
    assert contains(text, "ไตรมาส 1-4 (ปีงบประมาณ พ.ศ. 2569)")
    assert contains(text, "ตัวชี้วัดที่ 10")
    assert contains(text, "เรื่อง มาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน ประจำปีงบประมาณ พ.ศ. ๒๕๖๙")


def test_it_serves_the_stored_bytes_on_every_download(client, signed, owner):
    document, data = stored_bytes(signed)
    client.force_login(owner)
    url = reverse("plans:document", args=[signed.pk, "announcement"])
    first, second = client.get(url), client.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "application/pdf"
    assert first.content == second.content == data
    assert hashlib.sha256(first.content).hexdigest() == document.sha256
    assert not document.digitally_signed and len(document.verify_code) == 10 and document.verify_code.isalnum()
    assert contains(data, reverse("plans:verify", args=[document.verify_code]))


def test_it_verifies_the_stored_file_by_hash_and_rejects_a_changed_upload(client, signed):
    document, data = stored_bytes(signed)
    url = reverse("plans:verify", args=[document.verify_code])
    page = client.get(url).content.decode()
    assert "องค์การบริหารส่วนตำบลพลสงคราม" in page and document.sha256 in page
    assert reverse("plans:public_document", args=["A001", document.verify_code]) in page
    result = check(client, url, sha256=document.sha256.upper())
    assert MATCH in result and NO_MATCH not in result
    upload = SimpleUploadedFile("announcement.pdf", changed(data, len(data) // 2), "application/pdf")
    assert NO_MATCH in check(client, url, file=upload)
    assert Client(enforce_csrf_checks=True).post(url, {"sha256": document.sha256}).status_code == 403


def test_it_refuses_a_malformed_hash_and_an_oversized_upload(client, signed, monkeypatch):
    document, data = stored_bytes(signed)
    url = reverse("plans:verify", args=[document.verify_code])
    assert verify_views.BAD_HASH in check(client, url, sha256=document.sha256[:63] + "g")
    monkeypatch.setattr(verify_views, "MAX_UPLOAD", 1024)
    result = check(client, url, file=SimpleUploadedFile("big.pdf", data, "application/pdf"))
    assert verify_views.TOO_BIG in result and MATCH not in result


def test_it_finds_a_document_by_hash_without_its_code(client, signed):
    document, data = stored_bytes(signed)
    url = reverse("plans:verify_lookup")
    found = check(client, url, file=SimpleUploadedFile("a.pdf", data, "application/pdf"))
    assert MATCH in found and NO_MATCH not in found and document.title in found
    assert NO_MATCH in check(client, url, sha256="0" * 64)


def test_it_pades_signs_with_the_demo_certificate_and_detects_tampering(client, approved, mayor):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    call_command("create_demo_certificate", "A001", stdout=io.StringIO())
    sign(approved, mayor)
    document, data = stored_bytes(approved)
    assert document.digitally_signed and hashlib.sha256(data).hexdigest() == document.sha256
    url = reverse("plans:verify", args=[document.verify_code])
    valid = check(client, url, file=SimpleUploadedFile("a.pdf", data, "application/pdf"))
    assert MATCH in valid and "ลายมือชื่ออิเล็กทรอนิกส์ถูกต้อง" in valid

    tampered = check(client, url, file=SimpleUploadedFile("a.pdf", changed(data, inside_first_stream(data))))
    assert NO_MATCH in tampered and "เนื้อหาถูกแก้ไขหลังลงนาม" in tampered

    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.root["/PageMode"] = generic.NameObject("/UseOutlines")
    writer.update_root()
    appended = io.BytesIO()
    writer.write(appended)
    extended = check(client, url, file=SimpleUploadedFile("a.pdf", appended.getvalue()))
    assert NO_MATCH in extended and "ไม่ครอบคลุมทั้งไฟล์" in extended


def test_it_replaces_the_demo_certificate_when_run_again(agency_a, media):
    call_command("create_demo_certificate", "A001", stdout=io.StringIO())
    agency_a.refresh_from_db()
    first = agency_a.signing_password()
    call_command("create_demo_certificate", "A001", stdout=io.StringIO())
    agency_a.refresh_from_db()
    assert re.fullmatch(r"certificates/demo/[0-9a-f]{32}\.p12", agency_a.signing_pkcs12.name)
    assert agency_a.signing_password() != first
    assert [f"certificates/demo/{p.name}" for p in (media / "certificates" / "demo").iterdir()] == [
        agency_a.signing_pkcs12.name
    ]


def test_it_hides_a_draft_announcement_from_another_agency(client, approved, outsider):
    client.force_login(outsider)
    response = client.get(reverse("plans:document", args=[approved.pk, "announcement"]))
    assert response.status_code == 404
