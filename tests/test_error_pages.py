"""Thai error pages (400, 403, 404, 500) in the portal's layout with DEBUG off, and a
duplicate assessment named in Thai with a link to the existing record."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client
from django.urls import include, path, reverse

from assessments.models import Assessment


def _boom(request):
    raise RuntimeError("database went away")


def _forbidden(request):
    raise PermissionDenied("ลงนามประกาศได้เฉพาะผู้ลงนามของหน่วยงานนี้")


def _suspicious(request):
    raise SuspiciousOperation("bad request")


# A test URLconf: the portal's own routes plus three views that fail on purpose.
urlpatterns = [
    path("boom/", _boom),
    path("forbidden/", _forbidden),
    path("suspicious/", _suspicious),
    path("", include("ita_portal.urls")),
]


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


ENGLISH = ("Not Found", "Server Error", "Forbidden", "Bad Request", "The requested resource")


def assert_thai_page_in_layout(html):
    assert "ITA Portal" in html and 'class="topbar"' in html  # the portal's layout
    assert not any(text in html for text in ENGLISH)


def test_it_answers_an_unknown_address_with_a_thai_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "ไม่พบหน้าที่ต้องการ" in html
    assert reverse("plans:home") in html and reverse("plans:my_work") in html
    assert_thai_page_in_layout(html)


def test_it_answers_another_agencys_plan_with_the_thai_404(client, outsider, seed_assessment, owner, library):
    from plans.services import plan_draft_from_assessment

    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    client.force_login(outsider)
    response = client.get(reverse("plans:detail", args=[plan.pk]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "ไม่พบหน้าที่ต้องการ" in html and "No Plan matches" not in html
    assert_thai_page_in_layout(html)


def test_it_answers_a_permission_denied_with_a_thai_403_that_says_why(client, owner):
    client.force_login(owner)
    response = client.get("/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "ไม่มีสิทธิ์ทำรายการนี้" in html
    assert "ลงนามประกาศได้เฉพาะผู้ลงนามของหน่วยงานนี้" in html
    assert "ติดต่อผู้ดูแลระบบของหน่วยงาน" in html
    assert_thai_page_in_layout(html)


def test_it_answers_a_bad_request_with_a_thai_400(client):
    response = client.get("/suspicious/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "คำขอไม่ถูกต้อง" in html
    assert_thai_page_in_layout(html)


def test_it_answers_a_crash_with_a_thai_500_that_needs_no_request_context(db):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "ระบบขัดข้องชั่วคราว" in html and "ลองใหม่" in html
    assert "database went away" not in html
    assert_thai_page_in_layout(html)


def test_it_answers_a_form_without_csrf_token_with_a_thai_page(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("plans:comment", args=[1]), {"body": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "ส่งแบบฟอร์มไม่สำเร็จ" in html and "CSRF verification failed" not in html


def test_it_names_the_existing_assessment_with_a_link_when_the_admin_form_would_duplicate_it(
    client, seed_assessment, owner, fy2568
):
    client.force_login(owner)
    response = client.post(
        reverse("admin:assessments_assessment_add"),
        {"agency": seed_assessment.agency_id, "fiscal_year": fy2568.pk, "notes": "ซ้ำ"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    link = reverse("admin:assessments_assessment_change", args=[seed_assessment.pk])
    assert f'<a href="{link}">' in html
    assert "ผลการประเมินขององค์การบริหารส่วนตำบลพลสงคราม ปีงบประมาณ 2568 มีอยู่ในระบบแล้ว" in html
    assert "already exists" not in html and "มีอยู่แล้ว</li>" not in html
    assert Assessment.objects.filter(agency=seed_assessment.agency, fiscal_year=fy2568).count() == 1
