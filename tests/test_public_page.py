"""The agency's public page /p/<code>/: published documents only, served byte for byte."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from ita_portal import thai
from plans.models import Plan, StoredDocument
from plans.progress_report import progress_publish
from tests.test_progress_report import sign_plan


def store(plan, kind, title, data):
    """A StoredDocument written directly (as a bug or a careless import might) on any plan."""
    document = StoredDocument(plan=plan, kind=kind, title=title, sha256=hashlib.sha256(data).hexdigest(),
                              verify_code=hashlib.sha256(data).hexdigest()[:10].upper())
    document.file.save("doc.pdf", ContentFile(data), save=False)
    document.save()
    return document


@pytest.fixture
def published(settings, tmp_path, seed_assessment, owner, wg_member, mayor, library):
    """Agency A: a signed plan with its announcement and a published progress report."""
    settings.MEDIA_ROOT = tmp_path
    plan = sign_plan(seed_assessment, owner, wg_member, mayor)
    # plan_sign stores the announcement itself.
    announcement = StoredDocument.objects.get(plan=plan, kind=StoredDocument.Kind.ANNOUNCEMENT)
    report = progress_publish(plan=plan, user=owner)
    return {"plan": plan, "announcement": announcement, "report": report}


@pytest.fixture
def draft_b(other_assessment):
    """Agency B: a draft plan that somehow holds a document; the public must never see it."""
    plan = Plan.objects.create(
        agency=other_assessment.agency, assessment=other_assessment, target_year=2569, title="ร่างแผนของเทศบาลตำบลคึกคัก"
    )
    return store(plan, StoredDocument.Kind.ANNOUNCEMENT, "ร่างประกาศเทศบาลตำบลคึกคัก ยังไม่ลงนาม", b"%PDF-1.4 draft")


def test_it_lists_the_agencys_published_documents_newest_first_without_login(client, published):
    response = client.get(reverse("plans:public_agency", args=["A001"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "องค์การบริหารส่วนตำบลพลสงคราม" in html and "นครราชสีมา" in html
    report, announcement = published["report"], published["announcement"]
    assert html.index(report.title) < html.index(announcement.title)
    assert thai.thai_date(timezone.localdate()) in html
    for document in (report, announcement):
        assert reverse("plans:public_document", args=["A001", document.verify_code]) in html
        assert reverse("plans:verify", args=[document.verify_code]) in html
    assert "เข้าสู่ระบบ" in html


def test_it_never_lists_documents_of_a_plan_that_is_not_signed(client, published, draft_b):
    html = client.get(reverse("plans:public_agency", args=["B001"])).content.decode()
    assert "เทศบาลตำบลคึกคัก" in html
    assert draft_b.title not in html
    assert "ยังไม่มีเอกสารเผยแพร่" in html
    response = client.get(reverse("plans:public_document", args=["B001", draft_b.verify_code]))
    assert response.status_code == 404


def test_it_answers_404_for_an_unknown_agency(client, db):
    assert client.get(reverse("plans:public_agency", args=["NOPE"])).status_code == 404


def test_it_refuses_a_document_under_another_agencys_code(client, published, agency_b):
    response = client.get(reverse("plans:public_document", args=["B001", published["report"].verify_code]))
    assert response.status_code == 404


def test_it_serves_the_stored_bytes_exactly(client, published):
    report = published["report"]
    response = client.get(reverse("plans:public_document", args=["A001", report.verify_code]))
    with report.file.open("rb") as handle:
        stored = handle.read()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == stored
    assert hashlib.sha256(response.content).hexdigest() == report.sha256
