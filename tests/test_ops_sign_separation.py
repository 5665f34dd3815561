"""The working-group member who approved a plan may not also sign it as signatory (issue 11,
item 6), unless the agency allows it; then the signing's transition records the exception."""

import pytest
from django.urls import reverse

from assessments.models import Agency
from plans.models import Plan, StoredDocument, Transition
from plans.services import OWN_APPROVAL_NOTE
from tests.conftest import member
from tests.plans.test_workflow import plan as plan  # noqa: F401  (fixture)
from tests.plans.test_workflow import sign, status, transition
from tests.test_concurrency import page_form

REFUSED = "ลงนามประกาศไม่ได้ เพราะท่านเป็นผู้เห็นชอบแผนฉบับนี้ในฐานะคณะทำงานเอง"


@pytest.fixture
def both(db, django_user_model, agency_a):
    """Working group and signatory of agency A, one person."""
    return member(django_user_model, "both", agency_a, "working_group", "signatory", first_name="สมชาย")


@pytest.fixture
def approved_by_both(client, plan, owner, both):  # noqa: F811
    transition(client, owner, plan, "submit")
    transition(client, both, plan, "approve", "เห็นชอบ")
    assert status(plan) == Plan.Status.APPROVED
    return plan


def test_it_refuses_the_signing_by_the_person_who_approved(client, approved_by_both, both):
    response = sign(client, both, approved_by_both)
    assert response.status_code == 200 and REFUSED in response.content.decode()
    assert status(approved_by_both) == Plan.Status.APPROVED
    assert approved_by_both.signed_by is None and approved_by_both.version == 2
    assert not Transition.objects.filter(plan=approved_by_both, to_status=Plan.Status.SIGNED).exists()
    assert not StoredDocument.objects.exists()


def test_it_lets_another_signatory_sign_what_they_approved_without_a_note(client, approved_by_both, mayor):
    assert sign(client, mayor, approved_by_both).status_code == 302
    assert status(approved_by_both) == Plan.Status.SIGNED and approved_by_both.signed_by == mayor
    assert Transition.objects.filter(plan=approved_by_both).last().comment == ""


def test_it_judges_the_last_approval_not_an_earlier_one(client, plan, owner, both, wg_member):  # noqa: F811
    # `both` sent an earlier round back; another member approved this one: `both` may sign.
    transition(client, owner, plan, "submit")
    transition(client, both, plan, "request_changes", "ขอแก้ไข")
    transition(client, owner, plan, "submit")
    transition(client, wg_member, plan, "approve")
    assert sign(client, both, plan).status_code == 302
    assert status(plan) == Plan.Status.SIGNED


def test_it_allows_and_records_the_signing_when_the_agency_allows_it(client, approved_by_both, both, agency_a):
    Agency.objects.filter(pk=agency_a.pk).update(approver_may_sign=True)
    assert sign(client, both, approved_by_both).status_code == 302
    assert status(approved_by_both) == Plan.Status.SIGNED and approved_by_both.signed_by == both
    signing = Transition.objects.filter(plan=approved_by_both).last()
    assert (signing.to_status, signing.actor, signing.comment) == (Plan.Status.SIGNED, both, OWN_APPROVAL_NOTE)
    # The plan page's history shows it.
    page = client.get(reverse("plans:detail", args=[approved_by_both.pk])).content.decode()
    assert "ตามข้อยกเว้นที่หน่วยงานอนุญาต" in page


def test_it_keeps_the_exception_off_by_default_and_editable_in_the_agency_admin(client, admin_user, agency_a):
    assert Agency.objects.create(code="C001", name="เทศบาลตำบลทดสอบ").approver_may_sign is False
    client.force_login(admin_user)
    url = reverse("admin:assessments_agency_change", args=[agency_a.pk])
    page = client.get(url)
    assert "อนุญาตให้ผู้เห็นชอบแผนลงนามประกาศแผนนั้นเอง" in page.content.decode()
    data = page_form(page)
    assert "approver_may_sign" not in data  # an unticked box
    data["approver_may_sign"] = ["on"]
    assert client.post(url, data).status_code == 302
    agency_a.refresh_from_db()
    assert agency_a.approver_may_sign is True
