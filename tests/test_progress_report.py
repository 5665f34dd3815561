"""The progress report (รายงานผลการดำเนินการ, OIT O28): its PDF and its publication."""

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from ita_portal import thai
from plans.models import StoredDocument
from plans.progress_report import progress_context, progress_publish, render_progress
from plans.services import plan_approve, plan_draft_from_assessment, plan_sign, plan_submit, progress_record
from tests.pdf_utils import contains, embedded_fonts, pdf_text, weasyprint_warnings


def sign_plan(assessment, owner, wg_member, mayor):
    """Agency A's FY2569 plan, drafted, approved and signed through the services."""
    plan, _ = plan_draft_from_assessment(assessment=assessment, user=owner)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี",
              signatory_position="นายกองค์การบริหารส่วนตำบลพลสงคราม", announced_on=datetime.date(2025, 10, 2),
              meeting_number="1/2568", meeting_date=datetime.date(2025, 9, 16))
    plan.refresh_from_db()
    return plan


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def signed(media, seed_assessment, owner, wg_member, mayor, library):
    return sign_plan(seed_assessment, owner, wg_member, mayor)


@pytest.fixture
def reported(signed, owner):
    """Three measures reported: done in Q2 (after Q1 in progress), in progress, cancelled."""
    first, second, third = list(signed.measures.all()[:3])
    progress_record(measure=first, quarter=1, user=owner, status="in_progress", note="ประชุมชี้แจงบุคลากร")
    progress_record(measure=first, quarter=2, user=owner, status="done", note="เผยแพร่คู่มือบนเว็บไซต์แล้ว",
                    evidence_url="https://www.polsongkram.go.th/ita/o28/manual-q2.pdf")
    progress_record(measure=second, quarter=1, user=owner, status="in_progress", note="อยู่ระหว่างจัดทำร่าง",
                    evidence_file=SimpleUploadedFile("photos-q1.pdf", b"%PDF-1.4 evidence"))
    progress_record(measure=third, quarter=1, user=owner, status="cancelled", note="รวมกับมาตรการอื่น")
    return signed


def test_it_renders_the_report_in_thai_with_the_agencys_own_data(reported):
    first = reported.measures.first()
    with weasyprint_warnings() as warnings:
        data = render_progress(reported)
    text = pdf_text(data)
    assert contains(text, "รายงานผลการดำเนินการตามมาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน")
    assert contains(text, "องค์การบริหารส่วนตำบลพลสงคราม")
    assert contains(text, "ปีงบประมาณ พ.ศ. ๒๕๖๙") and "2569" not in text
    assert contains(text, first.title.split()[0][:12])
    assert contains(text, thai.thai_date(timezone.localdate()))
    assert "manual-q2.pdf" in text.replace("\n", "") and "photos-q1.pdf" in text
    assert any("Sarabun" in name for name in embedded_fonts(data))
    assert not [w for w in warnings if ".notdef" in w]


def test_it_summarises_measures_by_their_latest_recorded_quarter(reported):
    context = progress_context(reported, today=datetime.date(2026, 11, 1))
    total = reported.measures.count()
    summary = dict(context["summary"])
    assert summary["ดำเนินการแล้วเสร็จ"] == "๑"
    assert summary["อยู่ระหว่างดำเนินการ"] == "๑"
    assert summary["ยกเลิก"] == "๑"
    assert summary["ยังไม่ดำเนินการ"] == thai.thai_digits(total - 3)
    assert context["percent"] == thai.thai_digits(round(100 / (total - 1)))
    first = context["rows"][0]
    # Quarters with nothing recorded share one row.
    assert [(q["label"], q["status"]) for q in first["quarters"]] == [
        ("๑", "อยู่ระหว่างดำเนินการ"), ("๒", "ดำเนินการแล้วเสร็จ"), ("๓–๔", "ยังไม่ได้รายงานผล")]
    # Mid-year (quarter 2 of FY2569) the later quarters are not yet due.
    early = progress_context(reported, today=datetime.date(2026, 2, 1))["rows"][0]["quarters"]
    assert (early[-1]["label"], early[-1]["status"]) == ("๓–๔", "ยังไม่ถึงกำหนด")


def test_it_switches_table_numbers_to_arabic_for_agencies_that_ask(reported):
    reported.agency.table_digits = "arabic"
    reported.agency.save()
    context = progress_context(reported)
    row = context["rows"][0]
    assert (row["number"], row["quarters"][0]["label"]) == ("1", "1")
    assert row["indicator"].startswith("ตัวชี้วัดที่ 1 ")
    # The summary stays in Thai digits: only table numbers switch.
    assert context["measure_count"] == thai.thai_digits(reported.measures.count())


def test_it_refuses_publishing_by_the_working_group(signed, wg_member):
    with pytest.raises(PermissionDenied):
        progress_publish(plan=signed, user=wg_member)
    assert not StoredDocument.objects.filter(kind="progress").exists()


def test_it_refuses_publishing_an_unsigned_plan(media, seed_assessment, owner, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    with pytest.raises(ValidationError) as error:
        progress_publish(plan=plan, user=owner)
    assert "ลงนามประกาศ" in error.value.messages[0]
    assert not StoredDocument.objects.exists()


def test_it_stores_the_report_once_and_again_only_when_it_changed(reported, owner):
    document = progress_publish(plan=reported, user=owner)
    stored = document.file.read()
    assert hashlib.sha256(stored).hexdigest() == document.sha256
    assert stored.startswith(b"%PDF")
    assert len(document.verify_code) == 10 and document.verify_code.isalnum()
    assert document.title.endswith(f"(ข้อมูล ณ วันที่ {thai.thai_date(timezone.localdate())})")
    assert (document.kind, document.created_by) == ("progress", owner)

    assert progress_publish(plan=reported, user=owner).pk == document.pk

    measure = reported.measures.last()
    progress_record(measure=measure, quarter=4, user=owner, status="done", note="ดำเนินการครบแล้ว")
    update = progress_publish(plan=reported, user=owner)
    assert update.pk != document.pk and update.sha256 != document.sha256
    assert StoredDocument.objects.filter(plan=reported, kind="progress").count() == 2


def test_it_offers_download_and_publishing_to_staff_on_the_progress_page(client, signed, owner, wg_member):
    client.force_login(wg_member)
    html = client.get(reverse("plans:progress", args=[signed.pk])).content.decode()
    assert reverse("plans:document", args=[signed.pk, "progress"]) in html
    assert "เผยแพร่รายงานผลบนหน้าสาธารณะ" not in html
    client.force_login(owner)
    html = client.get(reverse("plans:progress", args=[signed.pk])).content.decode()
    assert "เผยแพร่รายงานผลบนหน้าสาธารณะ" in html
    response = client.post(reverse("plans:publish_progress", args=[signed.pk]))
    assert response.status_code == 302
    assert StoredDocument.objects.filter(plan=signed, kind="progress").count() == 1
